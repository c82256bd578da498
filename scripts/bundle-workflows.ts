// Builds the workflow bundle once, at build time (`npm run build` runs it after tsc): the worker
// loads dist/workflow-bundle.js instead of bundling the workflows with webpack at every start.
import path from 'node:path';
import { buildWorkflowBundle } from '../runtime/workflows-path.js';

const started = Date.now();
const { codePath, sources } = await buildWorkflowBundle();
process.stdout.write(`workflow bundle: ${path.relative(process.cwd(), codePath)} from ${sources} files in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
