// A problem in a policy: where (file, line, path inside the file) and what. The loader collects
// every problem instead of stopping at the first, so one `policy validate` run shows them all.

export type Problem = {
  /** The file's path relative to the policy directory, e.g. `roles.yaml`. */
  file: string;
  /** 1-based; 0 when the problem concerns the file as a whole. */
  line: number;
  /** 1-based column, when known. */
  column?: number;
  /** Where in the file's data: `roles[2].inherits[0]`; empty for the file itself. */
  path: string;
  message: string;
};

/** `roles[2].inherits[0]` from `['roles', 2, 'inherits', 0]`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out;
}

/** `file:line: path: message`, the way compilers print problems (editors make it a link). */
export function formatProblem(p: Problem): string {
  return `${p.file}:${p.line}: ${p.path === '' ? '' : `${p.path}: `}${p.message}`;
}

/** Problems in reading order: by file, then line, then path. */
export function sortProblems(problems: Problem[]): Problem[] {
  return [...problems].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || (a.column ?? 0) - (b.column ?? 0) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)));
}
