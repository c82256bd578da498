// Merging the policy's files. Each item of each section is validated on its own, so one bad role
// neither hides the problems of the others nor makes every reference to the good ones "unknown";
// then the list sections are concatenated in file order and the single sections (fencing,
// lifecycle) taken from the one file that holds them. Every item remembers where it came from.
import { z } from 'zod';
import {
  listSections,
  sectionItemSchemas,
  singleSections,
  singleSectionSchemas,
  type ListSection,
  type PolicyModel,
  type SingleSection,
} from '../schemas/policy.js';
import type { Problem } from './problems.js';
import { problemAt, type ParsedSource } from './yaml-source.js';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export type Origin = { source: ParsedSource; path: (string | number)[] };

/** For each list section, the origin of the model's item at the same index. */
export type Origins = { [K in ListSection]: Origin[] } & { [K in SingleSection]?: Origin };

/** A file's valid items, each with its index in the file. */
export type ValidatedFile = {
  source: ParsedSource;
  items: { [K in ListSection]: { index: number; value: PolicyModel[K][number] }[] };
  single: Partial<{ [K in SingleSection]: PolicyModel[K] }>;
};

/**
 * Ids that invalid items (or files whose YAML does not parse) meant to define. References to them
 * are not reported as unknown: the problem is reported once, where the definition is broken.
 */
export type Unreadable = { [K in ListSection]: Set<string> } & { entitlements: Set<string> };

export function emptyUnreadable(): Unreadable {
  return { ...(Object.fromEntries(listSections.map((s) => [s, new Set<string>()])) as { [K in ListSection]: Set<string> }), entitlements: new Set() };
}

/** Adds the ids an item (valid or not) defines to `out`. */
function noteIds(section: ListSection, item: unknown, out: Unreadable): void {
  if (typeof item === 'string' && section === 'regions') out.regions.add(item);
  if (!isRecord(item)) return;
  const id = section === 'attributes' ? item.name : item.id;
  if (typeof id !== 'string') return;
  out[section].add(id);
  if (section === 'applications' && Array.isArray(item.entitlements)) {
    for (const e of item.entitlements) if (isRecord(e) && typeof e.id === 'string') out.entitlements.add(`${id}:${e.id}`);
  }
}

/** The ids a file whose YAML is broken seems to define (the parser's best effort). */
export function noteUnreadableFile(source: ParsedSource, out: Unreadable): void {
  const value = source.bestEffort;
  if (!isRecord(value)) return;
  for (const section of listSections) {
    const items = value[section];
    if (Array.isArray(items)) for (const item of items) noteIds(section, item, out);
  }
}

function issueProblems(source: ParsedSource, base: (string | number)[], error: z.ZodError): Problem[] {
  const out: Problem[] = [];
  for (const issue of error.issues) {
    const path = [...base, ...issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p))];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push(problemAt(source, [...path, key], `unknown key "${key}"`, { atKey: true }));
      continue;
    }
    let message = issue.message;
    if (issue.code === 'invalid_type' && issue.input === undefined) message = `missing: ${issue.message.replace(/^Invalid input: /, '')}`;
    if (issue.code === 'invalid_union') message = issue.errors.at(-1)?.[0]?.message ?? issue.message;
    out.push(problemAt(source, path, message));
  }
  return out;
}

/** Validates one parsed file, item by item; ids of invalid items go to `unreadable`. */
export function validateFile(source: ParsedSource, unreadable: Unreadable): { file: ValidatedFile; problems: Problem[] } {
  const problems: Problem[] = [];
  const file: ValidatedFile = {
    source,
    items: Object.fromEntries(listSections.map((s) => [s, []])) as unknown as ValidatedFile['items'],
    single: {},
  };
  const value = source.value;
  if (value === undefined || value === null) return { file, problems };
  if (!isRecord(value)) {
    problems.push(problemAt(source, [], `a policy file is a mapping of sections (${[...listSections, ...singleSections].join(', ')})`));
    return { file, problems };
  }
  for (const key of Object.keys(value)) {
    if (!(listSections as readonly string[]).includes(key) && !(singleSections as readonly string[]).includes(key)) {
      problems.push(problemAt(source, [key], `unknown section "${key}" (sections: ${[...listSections, ...singleSections].join(', ')})`, { atKey: true }));
    }
  }
  for (const section of listSections) {
    const items = value[section];
    if (items === undefined || items === null) continue;
    if (!Array.isArray(items)) {
      problems.push(problemAt(source, [section], `${section} is a list`));
      continue;
    }
    items.forEach((item, index) => {
      const parsed = sectionItemSchemas[section].safeParse(item);
      if (parsed.success) {
        (file.items[section] as { index: number; value: unknown }[]).push({ index, value: parsed.data });
        return;
      }
      problems.push(...issueProblems(source, [section, index], parsed.error));
      noteIds(section, item, unreadable);
    });
  }
  for (const section of singleSections) {
    if (value[section] === undefined || value[section] === null) continue;
    const parsed = singleSectionSchemas[section].safeParse(value[section]);
    if (parsed.success) (file.single as Record<string, unknown>)[section] = parsed.data;
    else problems.push(...issueProblems(source, [section], parsed.error));
  }
  return { file, problems };
}

export function mergeFiles(files: readonly ValidatedFile[]): { model: PolicyModel; origins: Origins; problems: Problem[] } {
  const problems: Problem[] = [];
  const model: PolicyModel = {
    attributes: [],
    regions: [],
    approverGroups: [],
    applications: [],
    roles: [],
    birthright: [],
    separationOfDuties: [],
    approvals: [],
    fencing: singleSectionSchemas.fencing.parse({}),
    lifecycle: singleSectionSchemas.lifecycle.parse({}),
    reconcile: singleSectionSchemas.reconcile.parse({}),
    quarantine: singleSectionSchemas.quarantine.parse({}),
  };
  const origins = Object.fromEntries(listSections.map((s) => [s, []])) as unknown as Origins;
  const firstSeen: Partial<Record<SingleSection, Origin>> = {};
  for (const file of files) {
    for (const section of listSections) {
      for (const { index, value } of file.items[section]) {
        (model[section] as unknown[]).push(value);
        origins[section].push({ source: file.source, path: [section, index] });
      }
    }
    for (const section of singleSections) {
      const value = file.single[section];
      if (value === undefined) continue;
      const first = firstSeen[section];
      if (first) {
        problems.push(problemAt(file.source, [section], `${section} is already set in ${first.source.name}: keep it in one file`, { atKey: true }));
        continue;
      }
      firstSeen[section] = origins[section] = { source: file.source, path: [section] };
      (model as Record<SingleSection, unknown>)[section] = value;
    }
  }
  return { model, origins, problems };
}
