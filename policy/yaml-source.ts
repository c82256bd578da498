// YAML files with their line counters, so any path into a file's data maps back to a line.
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { formatPath, type Problem } from './problems.js';

export type SourceFile = { name: string; content: string };

export type ParsedSource = {
  name: string;
  content: string;
  doc: Document;
  lineCounter: LineCounter;
  /** The file's data as plain JS (undefined when the YAML does not parse). */
  value: unknown;
  /** The parser's best effort when the YAML has errors: only for telling which ids it meant to define. */
  bestEffort?: unknown;
};

export type Position = { line: number; column: number };

export function parseSource(file: SourceFile): { parsed: ParsedSource; problems: Problem[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(file.content, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const problems: Problem[] = doc.errors.map((err) => {
    const pos = lineCounter.linePos(err.pos[0]);
    return { file: file.name, line: Math.max(pos.line, 1), column: pos.col, path: '', message: `YAML: ${err.message.split('\n')[0]}` };
  });
  if (problems.length === 0) return { parsed: { name: file.name, content: file.content, doc, lineCounter, value: doc.toJS({ maxAliasCount: 100 }) }, problems };
  let bestEffort: unknown;
  try {
    bestEffort = doc.toJS({ maxAliasCount: 100 });
  } catch {
    bestEffort = undefined;
  }
  return { parsed: { name: file.name, content: file.content, doc, lineCounter, value: undefined, bestEffort }, problems };
}

function childOf(node: unknown, seg: PropertyKey): { key?: Node; value: unknown } | undefined {
  if (isMap(node)) {
    for (const pair of node.items) {
      if (isPair(pair) && isScalar(pair.key) && String(pair.key.value) === String(seg)) return { key: pair.key, value: pair.value };
    }
    return undefined;
  }
  if (isSeq(node) && typeof seg === 'number') {
    const item = node.items[seg];
    return item === undefined ? undefined : { value: item };
  }
  return undefined;
}

function rangeStart(node: unknown): number | undefined {
  const range = (node as { range?: [number, number, number] } | null)?.range;
  return range ? range[0] : undefined;
}

/**
 * The line and column of `path` in the file: the value at the path, or (with `key`) the key
 * itself; when the path leads nowhere (a missing key), the nearest enclosing node.
 */
export function locate(source: ParsedSource, path: readonly PropertyKey[], options: { atKey?: boolean } = {}): Position {
  let node: unknown = source.doc.contents;
  let best = rangeStart(node) ?? 0;
  for (let i = 0; i < path.length; i++) {
    const child = childOf(node, path[i]!);
    if (!child) break;
    const last = i === path.length - 1;
    const at = last && options.atKey && child.key ? rangeStart(child.key) : (rangeStart(child.value) ?? rangeStart(child.key));
    if (at !== undefined) best = at;
    node = child.value;
  }
  const pos = source.lineCounter.linePos(best);
  return { line: Math.max(pos.line, 1), column: pos.col };
}

/**
 * Where character `index` of the string scalar at `path` is in the file: for a CEL error's
 * position. Exact for one-line plain and quoted scalars and for literal block scalars (`|`);
 * within the scalar for folded ones.
 */
export function positionInScalar(source: ParsedSource, path: readonly PropertyKey[], index: number): Position {
  let node: unknown = source.doc.contents;
  for (const seg of path) {
    const child = childOf(node, seg);
    if (!child) return locate(source, path);
    node = child.value;
  }
  if (!isScalar(node) || !node.range || typeof node.value !== 'string') return locate(source, path);
  const text = node.value;
  const at = Math.max(0, Math.min(index, text.length));
  const start = source.lineCounter.linePos(node.range[0]);
  const before = text.slice(0, at);
  const newlines = before.split('\n').length - 1;
  const block = node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED';
  if (block) {
    // The content starts on the line after the `|` or `>` indicator, indented.
    const line = start.line + 1 + newlines;
    const lineStart = source.lineCounter.lineStarts[line - 1] ?? 0;
    const indent = /^[ ]*/.exec(source.content.slice(lineStart))![0].length;
    return { line, column: indent + (at - (before.lastIndexOf('\n') + 1)) + 1 };
  }
  if (newlines === 0) {
    const quoted = node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE';
    return { line: Math.max(start.line, 1), column: start.col + at + (quoted ? 1 : 0) };
  }
  return { line: Math.max(start.line, 1), column: start.col };
}

export function problemAt(source: ParsedSource, path: readonly PropertyKey[], message: string, options: { atKey?: boolean } = {}): Problem {
  const pos = locate(source, path, options);
  return { file: source.name, line: pos.line, column: pos.column, path: formatPath(path), message };
}
