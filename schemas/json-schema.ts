// JSON Schema for HRIS teams, generated from the zod schemas (the zod schemas are the source of truth).
import { z } from 'zod';
import { hrEventSchema } from './events.js';
import { outcomeSchema } from './outcomes.js';

export const jsonSchemas = {
  'hr-lifecycle-event.schema.json': () => z.toJSONSchema(hrEventSchema, { io: 'input', target: 'draft-2020-12' }),
  'provisioning-outcome.schema.json': () => z.toJSONSchema(outcomeSchema, { io: 'output', target: 'draft-2020-12' }),
};

export function renderJsonSchema(name: keyof typeof jsonSchemas): string {
  const schema = { $id: `https://provisioner.dev/schemas/${name}`, ...jsonSchemas[name]() };
  return `${JSON.stringify(schema, null, 2)}\n`;
}
