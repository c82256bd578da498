#!/usr/bin/env node
// The `provisioner` command. The TypeScript sources are compiled to dist/ by `npm install` (prepare).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
if (!existsSync(main)) {
  console.error('provisioner: dist/ is missing; run `npm install` (or `npm run build`) in the project folder first.');
  process.exit(1);
}
await import(main);
