// Deterministic identities for the example policy: a company's HR worker snapshots
// (schemas/events.ts), the same for the same count and seed on every machine.
//   examples/identities.jsonl: 500 identities, written by
//     npx tsc bench/policy-identities.ts --outDir dist --rootDir . --module nodenext --moduleResolution nodenext \
//       --target es2022 --strict --skipLibCheck --types node
//     node dist/bench/policy-identities.js 500 > examples/identities.jsonl
//   bench/policy-evaluate.ts generates 10,000 the same way.
import { pathToFileURL } from 'node:url';
import type { WorkerSnapshot } from '../schemas/events.js';
import { rng } from './lib/args.js';

type Weighted<T> = [T, number][];

function pick<T>(rnd: () => number, options: Weighted<T>): T {
  const total = options.reduce((s, [, w]) => s + w, 0);
  let r = rnd() * total;
  for (const [value, w] of options) {
    r -= w;
    if (r < 0) return value;
  }
  return options[options.length - 1]![0];
}

type Dept = {
  name: string;
  code: string;
  weight: number;
  head: string;
  managers: string[];
  titles: Weighted<string>;
  /** Share of contractors and their title. */
  contractors?: { share: number; title: string; type: 'contractor' | 'temporary' };
  interns?: { share: number; title: string };
};

const departments: Dept[] = [
  { name: 'Executive', code: '000', weight: 8, head: 'Chief Executive Officer', managers: [], titles: [['VP Engineering', 1], ['VP Sales', 1], ['VP Finance', 1], ['VP People', 1], ['Chief of Staff', 1]] },
  {
    name: 'Engineering', code: '100', weight: 170, head: 'Head of Engineering', managers: ['Engineering Manager'],
    titles: [['Software Engineer', 40], ['Senior Software Engineer', 25], ['Staff Engineer', 8], ['Principal Engineer', 3], ['Engineering Manager', 8], ['Release Engineer', 4], ['Release Manager', 2], ['QA Engineer', 10]],
    contractors: { share: 0.12, title: 'Contract Software Engineer', type: 'contractor' },
    interns: { share: 0.04, title: 'Software Engineering Intern' },
  },
  { name: 'Research', code: '150', weight: 20, head: 'Head of Research', managers: [], titles: [['Research Scientist', 3], ['Senior Research Scientist', 1]] },
  { name: 'Product', code: '200', weight: 25, head: 'Head of Product', managers: [], titles: [['Product Manager', 3], ['Senior Product Manager', 1], ['Product Designer', 2]] },
  {
    name: 'Sales', code: '300', weight: 80, head: 'Head of Sales', managers: ['Sales Manager'],
    titles: [['Account Executive', 10], ['Sales Development Rep', 6], ['Sales Manager', 2], ['Sales Operations Lead', 1]],
  },
  {
    name: 'Support', code: '400', weight: 60, head: 'Head of Support', managers: ['Support Manager'],
    titles: [['Support Specialist', 8], ['Senior Support Specialist', 3], ['Support Manager', 1]],
    contractors: { share: 0.2, title: 'Support Contractor', type: 'temporary' },
  },
  {
    name: 'Marketing', code: '500', weight: 40, head: 'Head of Marketing', managers: ['Marketing Manager'],
    titles: [['Marketing Specialist', 5], ['Content Writer', 2], ['Marketing Manager', 1]],
    contractors: { share: 0.1, title: 'Freelance Designer', type: 'contractor' },
  },
  { name: 'Finance', code: '600', weight: 30, head: 'Head of Finance', managers: [], titles: [['Accountant', 4], ['Accounts Payable Specialist', 2], ['Finance Controller', 1], ['Financial Analyst', 3]] },
  { name: 'People', code: '700', weight: 20, head: 'Head of People', managers: [], titles: [['People Partner', 3], ['Recruiter', 3], ['People Operations Specialist', 2]] },
  { name: 'IT', code: '800', weight: 25, head: 'Head of IT', managers: [], titles: [['IT Support Engineer', 5], ['Systems Administrator', 2], ['Network Administrator', 1]] },
  { name: 'Security', code: '850', weight: 12, head: 'Head of Security', managers: [], titles: [['Security Engineer', 3], ['Security Analyst', 2]] },
  { name: 'Legal', code: '900', weight: 10, head: 'General Counsel', managers: [], titles: [['Counsel', 2], ['Paralegal', 1]] },
];

const givenNames = ['Ada', 'Alan', 'Grace', 'Linus', 'Margaret', 'Ken', 'Barbara', 'Dennis', 'Frances', 'Edsger', 'Radia', 'Tim', 'Sophie', 'John', 'Katherine', 'Donald', 'Hedy', 'Niklaus', 'Shafi', 'Leslie', 'Annie', 'Guido', 'Yukihiro', 'Bjarne', 'Anita', 'Vint', 'Mary', 'James', 'Lynn', 'Robin', 'Ines', 'Mateo', 'Chiara', 'Lars', 'Aoife', 'Noah', 'Priya', 'Omar', 'Lena', 'Tariq'];
const familyNames = ['Lovelace', 'Turing', 'Hopper', 'Torvalds', 'Hamilton', 'Thompson', 'Liskov', 'Ritchie', 'Allen', 'Dijkstra', 'Perlman', 'Berners-Lee', 'Wilson', 'McCarthy', 'Johnson', 'Knuth', 'Lamarr', 'Wirth', 'Goldwasser', 'Lamport', 'Easley', 'van Rossum', 'Matsumoto', 'Stroustrup', 'Borg', 'Cerf', 'Keller', 'Gosling', 'Conway', 'Milner', 'Garcia', 'Rossi', 'Schmidt', 'Murphy', 'Dubois', 'Jensen', 'Sharma', 'Haddad', 'Novak', 'Okafor'];
const locations = { eu: ['Berlin', 'Dublin', 'Paris'], us: ['New York', 'Austin', 'San Francisco'] } as const;

function levelOf(title: string): number {
  if (/^Chief Executive/.test(title)) return 9;
  if (/^(VP |General Counsel|Chief of Staff)/.test(title)) return 8;
  if (/^Head of/.test(title)) return 7;
  if (/Principal|Manager$|Controller/.test(title) && !/^Product Manager$/.test(title)) return 6;
  if (/Staff|Lead/.test(title)) return 5;
  if (/Senior/.test(title)) return 4;
  if (/Intern/.test(title)) return 1;
  return 3;
}

/** `count` worker snapshots; the first is the CEO, each department's head reports to them. */
export function generateIdentities(count: number, seed = 42): WorkerSnapshot[] {
  const rnd = rng(seed);
  const out: WorkerSnapshot[] = [];
  const emails = new Set<string>();
  const heads = new Map<string, string>();
  const managersByDept = new Map<string, string[]>();
  const id = (i: number): string => `E${String(i + 1).padStart(5, '0')}`;
  for (let i = 0; i < count; i++) {
    // The CEO, then one head per department, then everyone else by department weight.
    const dept = i === 0 ? departments[0]! : i <= departments.length - 1 ? departments[i]! : pick(rnd, departments.map((d) => [d, d.weight] as [Dept, number]));
    const isHead = i < departments.length;
    let employmentType: NonNullable<WorkerSnapshot['employmentType']> = 'employee';
    let title: string;
    if (isHead) title = dept.head;
    else if (dept.contractors && rnd() < dept.contractors.share) {
      employmentType = dept.contractors.type;
      title = dept.contractors.title;
    } else if (dept.interns && rnd() < dept.interns.share) {
      employmentType = 'intern';
      title = dept.interns.title;
    } else title = pick(rnd, dept.titles);
    const region = i === 0 || rnd() < 0.6 ? 'eu' : 'us';
    const location = locations[region][Math.floor(rnd() * 3)]!;
    const givenName = givenNames[Math.floor(rnd() * givenNames.length)]!;
    const familyName = familyNames[Math.floor(rnd() * familyNames.length)]!;
    const local = `${givenName}.${familyName}`.toLowerCase().replace(/[^a-z.]/g, '');
    let email = `${local}@example.com`;
    for (let n = 2; emails.has(email); n++) email = `${local}${n}@example.com`;
    emails.add(email);
    const status: WorkerSnapshot['status'] = isHead ? 'active' : pick(rnd, [['active', 970], ['on-leave', 15], ['pre-hire', 15]]);
    const managerPool = managersByDept.get(dept.name) ?? [];
    const managerId = i === 0 ? undefined : isHead ? id(0) : managerPool.length > 0 ? managerPool[Math.floor(rnd() * managerPool.length)]! : (heads.get(dept.name) ?? id(0));
    const extensions: Record<string, string | number | boolean | null> = {};
    if (rnd() >= 0.03) extensions.level = levelOf(title);
    if ((dept.name === 'IT' || dept.name === 'Security' || title === 'Sales Operations Lead') && employmentType === 'employee') {
      const r = rnd();
      if (r < 0.7) extensions.privilegedAccessTraining = true;
      else if (r < 0.85) extensions.privilegedAccessTraining = false;
    }
    const startYear = 2015 + Math.floor(rnd() * 11);
    const startDate = status === 'pre-hire' ? '2026-02-02' : `${startYear}-${String(1 + Math.floor(rnd() * 12)).padStart(2, '0')}-${String(1 + Math.floor(rnd() * 28)).padStart(2, '0')}`;
    out.push({
      employeeId: id(i),
      sequence: 1,
      effectiveAt: '2026-01-05T09:00:00Z',
      status,
      givenName,
      familyName,
      email,
      department: dept.name,
      title,
      ...(managerId ? { managerId } : {}),
      location,
      region,
      employmentType,
      costCenter: `CC-${dept.code}-${region.toUpperCase()}`,
      startDate,
      ...(employmentType === 'contractor' || employmentType === 'temporary' ? { endDate: '2026-12-31' } : {}),
      extensions,
    });
    if (isHead) heads.set(dept.name, id(i));
    else if (dept.managers.includes(title)) managersByDept.set(dept.name, [...managerPool, id(i)]);
  }
  return out;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const count = Number(process.argv[2] ?? 500);
  const seed = Number(process.argv[3] ?? 42);
  for (const identity of generateIdentities(count, seed)) process.stdout.write(`${JSON.stringify(identity)}\n`);
}
