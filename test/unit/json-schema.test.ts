import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../schemas/config.js';
import { ITSM_JSON_SCHEMA_FILE, renderItsmJsonSchema } from '../../schemas/itsm-events.js';
import { jsonSchemas, renderJsonSchema } from '../../schemas/json-schema.js';

const published: Array<[string, () => string]> = [
  ...(Object.keys(jsonSchemas) as Array<keyof typeof jsonSchemas>).map((name): [string, () => string] => [name, () => renderJsonSchema(name)]),
  [ITSM_JSON_SCHEMA_FILE, renderItsmJsonSchema],
];

describe('the JSON Schemas published for HRIS and ITSM teams', () => {
  for (const [name, render] of published) {
    it(`${name} is current with the zod schema (regenerate with \`npm run schemas\`)`, () => {
      expect(readFileSync(path.join(projectRoot, 'schemas', 'json', name), 'utf8')).toBe(render());
    });
  }

  it('the ITSM schema tells partner teams the three event types and the beneficiary as subject', () => {
    const schema = JSON.parse(renderItsmJsonSchema()) as { oneOf?: Array<{ properties: { type: { const: string } } }>; anyOf?: Array<{ properties: { type: { const: string } } }> };
    const variants = schema.oneOf ?? schema.anyOf ?? [];
    expect(variants.map((v) => v.properties.type.const).sort()).toEqual(['itsm.access.requested', 'itsm.access.revoke.requested', 'itsm.approval.decided']);
  });
});
