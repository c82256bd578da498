// Lint: typescript-eslint's recommended rules everywhere, and the workflow-sandbox rule for
// workflows/: workflow code is deterministic and replayable, so it imports no Node.js modules, no
// I/O libraries, and activities only as types (STYLE.md).
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import layers from './lint/layers.js';

const nodeBuiltins = ['assert', 'buffer', 'child_process', 'cluster', 'crypto', 'dgram', 'dns', 'events', 'fs', 'fs/promises', 'http', 'http2', 'https', 'net', 'os', 'path', 'perf_hooks', 'process', 'readline', 'stream', 'timers', 'tls', 'url', 'util', 'worker_threads', 'zlib'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', '.provisioner/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', Buffer: 'readonly', AbortController: 'readonly', AbortSignal: 'readonly', fetch: 'readonly', Response: 'readonly', Request: 'readonly', Headers: 'readonly', TextEncoder: 'readonly', TextDecoder: 'readonly', structuredClone: 'readonly', performance: 'readonly', NodeJS: 'readonly' } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    // Imports run one way through the layers (lint/layers.js, docs/architecture.md#layers).
    files: ['**/*.ts'],
    plugins: { layers },
    rules: { 'layers/one-way': 'error' },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: nodeBuiltins.map((name) => ({ name, message: 'Workflow code runs in the deterministic sandbox: no Node.js modules (do I/O in an activity).' })),
        patterns: [
          { group: ['node:*'], message: 'Workflow code runs in the deterministic sandbox: no Node.js modules (do I/O in an activity).' },
          { group: ['kafkajs', 'pg', 'ldapts', 'pino', 'express', '@temporalio/client', '@temporalio/worker', '@temporalio/activity'], message: 'No I/O libraries in workflow code: call an activity.' },
          { group: ['../activities/*', '../activities', '../connectors/*', '../store/*', '../ingress/*', '../../activities/*', '../../activities', '../../connectors/*', '../../store/*', '../../ingress/*'], allowTypeImports: true, message: 'Workflows import activities and I/O modules as types only (proxyActivities).' },
        ],
      }],
      'no-restricted-globals': ['error', { name: 'process', message: 'No process/env in workflow code: pass configuration in as workflow input.' }, { name: 'fetch', message: 'No I/O in workflow code.' }],
    },
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs', globals: { require: 'readonly', exports: 'writable', module: 'writable' } },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    files: ['bin/**', 'cli/**/*.ts', 'scripts/**', 'bench/**'],
    rules: { 'no-console': 'off' },
  },
);
