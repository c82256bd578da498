// The role hierarchy: cycles (rejected by the loader) and closures (a role with everything it
// inherits, directly or not; diamonds count each role once).

export type RoleNode = { id: string; inherits: readonly string[] };

/**
 * The cycles of the `inherits` graph: each strongly connected component with more than one role,
 * or a role inheriting itself, as its ids in a cycle order starting from the smallest id.
 * Unknown ids are ignored here (the loader reports them as unknown references).
 */
export function findCycles(roles: readonly RoleNode[]): string[][] {
  const edges = new Map<string, string[]>();
  for (const r of roles) edges.set(r.id, [...r.inherits]);
  // Tarjan's strongly connected components, iteratively (deep hierarchies must not overflow).
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const onStack = new Set<string>();
  const stack: string[] = [];
  const components: string[][] = [];
  for (const root of [...edges.keys()].sort()) {
    if (index.has(root)) continue;
    const work: { id: string; next: number }[] = [{ id: root, next: 0 }];
    index.set(root, counter);
    low.set(root, counter++);
    stack.push(root);
    onStack.add(root);
    while (work.length > 0) {
      const frame = work[work.length - 1]!;
      const children = (edges.get(frame.id) ?? []).filter((c) => edges.has(c));
      if (frame.next < children.length) {
        const child = children[frame.next++]!;
        if (!index.has(child)) {
          index.set(child, counter);
          low.set(child, counter++);
          stack.push(child);
          onStack.add(child);
          work.push({ id: child, next: 0 });
        } else if (onStack.has(child)) {
          low.set(frame.id, Math.min(low.get(frame.id)!, index.get(child)!));
        }
        continue;
      }
      work.pop();
      const parent = work[work.length - 1];
      if (parent) low.set(parent.id, Math.min(low.get(parent.id)!, low.get(frame.id)!));
      if (low.get(frame.id) === index.get(frame.id)) {
        const component: string[] = [];
        let id: string;
        do {
          id = stack.pop()!;
          onStack.delete(id);
          component.push(id);
        } while (id !== frame.id);
        const selfLoop = component.length === 1 && (edges.get(frame.id) ?? []).includes(frame.id);
        if (component.length > 1 || selfLoop) components.push(component);
      }
    }
  }
  return components.map((c) => cycleOrder(c, edges)).sort((a, b) => (a[0]! < b[0]! ? -1 : 1));
}

/** A readable cycle through a strongly connected component: a → b → … → a, from its smallest id. */
function cycleOrder(component: string[], edges: Map<string, string[]>): string[] {
  const members = new Set(component);
  const start = [...component].sort()[0]!;
  // Breadth-first search for the shortest way back to `start`.
  const prev = new Map<string, string>();
  const queue = [start];
  while (queue.length > 0) {
    const id = queue.shift()!;
    for (const next of edges.get(id) ?? []) {
      if (!members.has(next)) continue;
      if (next === start) {
        const path = [id];
        while (path[0] !== start) path.unshift(prev.get(path[0]!)!);
        return path;
      }
      if (!prev.has(next) && next !== start) {
        prev.set(next, id);
        queue.push(next);
      }
    }
  }
  return [start];
}

/**
 * For each role, itself and every role it inherits (transitively), sorted. Requires an acyclic
 * hierarchy; unknown ids are skipped.
 */
export function roleClosures(roles: readonly RoleNode[]): Record<string, string[]> {
  const edges = new Map<string, readonly string[]>();
  for (const r of roles) edges.set(r.id, r.inherits);
  const memo = new Map<string, Set<string>>();
  const visit = (id: string, trail: Set<string>): Set<string> => {
    const known = memo.get(id);
    if (known) return known;
    if (trail.has(id)) throw new RangeError(`role inheritance cycle through ${id}`);
    trail.add(id);
    const out = new Set<string>([id]);
    for (const parent of edges.get(id) ?? []) {
      if (!edges.has(parent)) continue;
      for (const r of visit(parent, trail)) out.add(r);
    }
    trail.delete(id);
    memo.set(id, out);
    return out;
  };
  const result: Record<string, string[]> = {};
  for (const r of roles) result[r.id] = [...visit(r.id, new Set())].sort();
  return result;
}
