// Writes schemas/json/*.schema.json from the zod schemas: `npm run schemas`.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { jsonSchemas, renderJsonSchema } from '../schemas/json-schema.js';
import { projectRoot } from '../schemas/config.js';

for (const name of Object.keys(jsonSchemas) as Array<keyof typeof jsonSchemas>) {
  const file = path.join(projectRoot, 'schemas', 'json', name);
  writeFileSync(file, renderJsonSchema(name));
  process.stdout.write(`wrote ${path.relative(projectRoot, file)}\n`);
}
