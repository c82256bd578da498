// The worker's workflow code: the bundle built once at build time (`npm run build` runs
// scripts/bundle-workflows.ts, which writes dist/workflow-bundle.js and a manifest of the files it
// was made from), or, when that bundle is missing or stale (a file it was made from changed since),
// the entry point to bundle at start-up: compiled JavaScript under dist/, or the TypeScript source
// when running from source (tests, development).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { failureConverterPath } from '../codec/data-converter.js';
import { tracingOff } from '../observability/tracing/provider.js';
import { workflowSinks } from '../observability/tracing/temporal.js';

/** A workflow module: compiled JavaScript under dist/, or the TypeScript source when running from source. */
function workflowModule(name: string): string {
  const js = fileURLToPath(new URL(`../workflows/${name}.js`, import.meta.url));
  if (existsSync(js)) return js;
  return fileURLToPath(new URL(`../workflows/${name}.ts`, import.meta.url));
}

export function workflowsPath(): string {
  return workflowModule('index');
}

/**
 * The workflow interceptor modules, in every bundle (the prebuilt one, one made at start, the
 * replay workers'): ours first (workflows/trace-context.ts: its outbound interceptor must run
 * outside Temporal's, which opens the StartActivity span), then Temporal's OpenTelemetry ones.
 * Always there: they change no command (they add a header to the activities scheduled), so
 * histories replay alike with and without them; without a tracer they still make their spans
 * inside the sandbox, which the worker's no-op sink drops.
 */
export const workflowInterceptorModules: string[] = [workflowModule('trace-context'), createRequire(import.meta.url).resolve('@temporalio/interceptors-opentelemetry/lib/workflow-interceptors')];

/** Where the build writes the bundle: beside the compiled code (dist/workflow-bundle.js). */
export const defaultBundlePath = (): string => fileURLToPath(new URL('../workflow-bundle.js', import.meta.url));

/** The files a bundle was made from (the workflow code, the SDK's, the failure converter, the interceptors), with their hashes. */
type BundleManifest = { sources: Array<{ path: string; sha256: string }> };

const manifestPath = (codePath: string) => codePath.replace(/\.js$/, '.sources.json');
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/**
 * Bundles the workflows (with the failure converter every worker uses) into `codePath`, and a
 * manifest of the files it was made from beside it. Returns how many files went in.
 */
export async function buildWorkflowBundle(codePath = defaultBundlePath()): Promise<{ codePath: string; sources: number }> {
  const files = new Set<string>();
  const { code } = await bundleWorkflowCode({
    workflowsPath: workflowsPath(),
    failureConverterPath,
    // Temporal's OpenTelemetry workflow interceptors (observability/tracing/temporal.ts), in every bundle.
    workflowInterceptorModules,
    // Webpack's module list is noise; its warnings and errors are not.
    logger: new DefaultLogger('WARN'),
    // Records the files webpack read (its own list, so nothing is guessed).
    webpackConfigHook: (config) => ({
      ...config,
      plugins: [
        ...(config.plugins ?? []),
        {
          apply(compiler) {
            compiler.hooks.done.tap('workflow-bundle-sources', (stats) => {
              for (const file of stats.compilation.fileDependencies) files.add(file);
            });
          },
        },
      ],
    }),
  });
  const dir = path.dirname(codePath);
  const sources = [...files].filter((f) => existsSync(f) && statSync(f).isFile()).sort();
  const manifest: BundleManifest = { sources: sources.map((f) => ({ path: path.relative(dir, f), sha256: sha256(f) })) };
  mkdirSync(dir, { recursive: true });
  writeFileSync(codePath, code);
  writeFileSync(manifestPath(codePath), `${JSON.stringify(manifest, null, 1)}\n`);
  return { codePath, sources: sources.length };
}

/** Why the bundle at `codePath` cannot be used, or undefined when it is there and every file it was made from is unchanged. */
export function bundleStaleness(codePath: string): string | undefined {
  if (!existsSync(codePath)) return `no workflow bundle at ${codePath}`;
  let manifest: BundleManifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath(codePath), 'utf8')) as BundleManifest;
  } catch {
    return `the workflow bundle ${codePath} has no readable manifest`;
  }
  const dir = path.dirname(codePath);
  const changed = manifest.sources.find((s) => {
    const file = path.resolve(dir, s.path);
    return !existsSync(file) || sha256(file) !== s.sha256;
  });
  return changed ? `the workflow bundle ${codePath} is stale: ${path.resolve(dir, changed.path)} changed since it was built` : undefined;
}

/**
 * The worker options for its workflow code: the prebuilt bundle (its interceptors are in it), else
 * (said through `warn` when running from dist/) the entry point to bundle now and the workflow
 * interceptor modules to bundle with it (`interceptors.workflowModules`).
 */
export function workflowCode(warn?: (message: string) => void): { workflowBundle: { codePath: string }; workflowModules: string[] } | { workflowsPath: string; workflowModules: string[] } {
  const codePath = defaultBundlePath();
  const stale = bundleStaleness(codePath);
  if (stale === undefined) return { workflowBundle: { codePath }, workflowModules: [] };
  const entry = workflowsPath();
  if (entry.endsWith('.js')) warn?.(`${stale}: bundling the workflows at start-up instead (run \`npm run build\`)`);
  return { workflowsPath: entry, workflowModules: workflowInterceptorModules };
}

/**
 * The workflow code bundled from source as the production bundle is made (with the workflow
 * interceptors), and the no-op span sink they need without a tracer: for replay workers and the
 * tests' workers, so that what they replay is what production runs.
 */
export function workflowSourceOptions(): { workflowsPath: string; interceptors: { workflowModules: string[] }; sinks: ReturnType<typeof workflowSinks> } {
  return { workflowsPath: workflowsPath(), interceptors: { workflowModules: workflowInterceptorModules }, sinks: workflowSinks(tracingOff) };
}
