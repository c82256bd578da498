// The layering rule (lint/layers.js) as `npm run lint` runs it, on code placed in the project's folders.
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../schemas/config.js';

const eslint = new ESLint({ cwd: projectRoot });

async function layerProblems(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return result!.messages.filter((m) => m.ruleId === 'layers/one-way').map((m) => m.message);
}

// The first lint loads the type-aware parser for the whole project: seconds on a busy machine.
describe('imports run one way through the layers', { timeout: 60_000 }, () => {
  it('an import of a layer above fails, naming both folders and the order', async () => {
    const problems = await layerProblems('store/example.ts', "import { startIngress } from '../runtime/ingress.js';\nexport const x = startIngress;\n");
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^store\/ may not import runtime\/ \(a layer above it\): the layers run cli\/api → runtime → /);
  });

  it('an import of the same layer or one below passes', async () => {
    expect(await layerProblems('store/example.ts', "import { ledger } from '../policy/fencing.js';\nimport { z } from '../schemas/config.js';\nexport const x = [ledger, z];\n")).toEqual([]);
    expect(await layerProblems('workflows/example.ts', "import { openGate } from '../policy/approval-chain.js';\nexport const x = openGate;\n")).toEqual([]);
  });

  it('a type-only import is not counted (workflows see activities only as types)', async () => {
    expect(await layerProblems('policy/example.ts', "import type { Activities } from '../activities/index.js';\nexport type X = Activities;\n")).toEqual([]);
  });

  it('production code may not import the development folders; the CLI and the tests may', async () => {
    expect(await layerProblems('runtime/example.ts', "import { stackUp } from '../stack/stack.js';\nexport const x = stackUp;\n")).toEqual([
      'runtime/ may not import stack/: it is development only (the local stack and the fake apps); only cli/ may use it.',
    ]);
    expect(await layerProblems('cli/example.ts', "import { stackUp } from '../stack/stack.js';\nexport const x = stackUp;\n")).toEqual([]);
    expect(await layerProblems('test/unit/example.ts', "import { appsUp } from '../../targets/apps-command.js';\nexport const x = appsUp;\n")).toEqual([]);
  });
});
