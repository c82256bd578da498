import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../schemas/config.js';
import { jsonSchemas, renderJsonSchema } from '../../schemas/json-schema.js';

describe('the JSON Schemas published for HRIS teams', () => {
  for (const name of Object.keys(jsonSchemas) as Array<keyof typeof jsonSchemas>) {
    it(`${name} is current with the zod schema (regenerate with \`npm run schemas\`)`, () => {
      expect(readFileSync(path.join(projectRoot, 'schemas', 'json', name), 'utf8')).toBe(renderJsonSchema(name));
    });
  }
});
