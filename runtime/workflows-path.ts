// Where the workflow bundle's entry point is: compiled JavaScript under dist/, or the TypeScript
// source when running from source (tests).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function workflowsPath(): string {
  const js = fileURLToPath(new URL('../workflows/index.js', import.meta.url));
  if (existsSync(js)) return js;
  return fileURLToPath(new URL('../workflows/index.ts', import.meta.url));
}
