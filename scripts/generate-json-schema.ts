// Writes schemas/json/*.schema.json from the zod schemas: `npm run schemas`.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { jsonSchemas, renderJsonSchema } from '../schemas/json-schema.js';
import { ITSM_JSON_SCHEMA_FILE, renderItsmJsonSchema } from '../schemas/itsm-events.js';
import { projectRoot } from '../schemas/config.js';

const files: Array<[string, () => string]> = [
  ...(Object.keys(jsonSchemas) as Array<keyof typeof jsonSchemas>).map((name): [string, () => string] => [name, () => renderJsonSchema(name)]),
  [ITSM_JSON_SCHEMA_FILE, renderItsmJsonSchema],
];

for (const [name, render] of files) {
  const file = path.join(projectRoot, 'schemas', 'json', name);
  writeFileSync(file, render());
  process.stdout.write(`wrote ${path.relative(projectRoot, file)}\n`);
}
