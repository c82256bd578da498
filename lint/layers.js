// The layering rule: imports run one way, from the faces (cli, api) down to the schemas. A file may
// import its own layer and the layers below it, never one above; production code never imports the
// development-only folders (stack/, targets/). Type-only imports are not counted: they vanish at
// run time, and workflow code sees activities only as types (for proxyActivities), which the
// workflow-sandbox rule enforces. Folders outside the layers (test/, bench/, scripts/, ...) may
// import anything. docs/architecture.md#layers explains the order.
import path from 'node:path';

/** Top to bottom: a layer may import from its own and every later entry. */
export const layers = [
  ['cli', 'api'],
  ['runtime'],
  ['ingress'],
  ['activities'],
  ['clients'],
  ['workflows'],
  ['policy', 'store', 'connectors', 'codec', 'kafka'],
  ['schemas', 'crypto', 'observability'],
];

/** Development only: the local stack and the fake SaaS apps. Of the layers, only the CLI's development commands use them. */
export const devOnly = { folders: ['stack', 'targets'], importers: ['cli'] };

const rankOf = new Map(layers.flatMap((folders, rank) => folders.map((f) => [f, rank])));

function topFolder(root, file) {
  const rel = path.relative(root, file);
  if (rel.startsWith('..') || path.isAbsolute(rel)) return undefined;
  const parts = rel.split(path.sep);
  return parts.length > 1 ? parts[0] : undefined;
}

const isTypeOnly = (node) =>
  node.importKind === 'type' ||
  node.exportKind === 'type' ||
  (node.type === 'ImportDeclaration' && node.specifiers.length > 0 && node.specifiers.every((s) => s.importKind === 'type'));

export const layersRule = {
  meta: {
    type: 'problem',
    docs: { description: 'imports run one way through the layers; production code never imports stack/ or targets/' },
    schema: [],
    messages: {
      upward: "{{from}}/ may not import {{to}}/ (a layer above it): the layers run {{order}}. Move the shared code down, or pass it in from above.",
      devOnly: "{{from}}/ may not import {{to}}/: it is development only (the local stack and the fake apps); only {{importers}} may use it.",
    },
  },
  create(context) {
    const root = context.cwd ?? process.cwd();
    const file = context.filename ?? context.getFilename();
    const from = topFolder(root, file);
    if (!from) return {};
    const fromRank = rankOf.get(from);
    // Outside the layers (tests, benchmarks, scripts, the development folders): anything goes.
    if (fromRank === undefined) return {};
    const check = (node) => {
      if (!node.source || typeof node.source.value !== 'string' || !node.source.value.startsWith('.')) return;
      if (isTypeOnly(node)) return;
      const to = topFolder(root, path.resolve(path.dirname(file), node.source.value));
      if (!to || to === from) return;
      if (devOnly.folders.includes(to) && !devOnly.importers.includes(from)) {
        context.report({ node: node.source, messageId: 'devOnly', data: { from, to, importers: devOnly.importers.map((f) => `${f}/`).join(', ') } });
        return;
      }
      const toRank = rankOf.get(to);
      if (toRank === undefined) return;
      if (toRank < fromRank) {
        const order = layers.map((l) => l.join('/')).join(' → ');
        context.report({ node: node.source, messageId: 'upward', data: { from, to, order } });
      }
    };
    return { ImportDeclaration: check, ExportNamedDeclaration: check, ExportAllDeclaration: check };
  },
};

export default { rules: { 'one-way': layersRule } };
