/**
 * The page every benchmark writes when it runs: `docs/benchmarks/<name>.md`, with the command, the
 * machine (CPU, cores, memory, Node, the load average at the start and at the end), the date, the
 * goals and whether each is met, the baseline measured in the same run, the result tables and the
 * method. The page is also printed, so a run in a terminal shows what it wrote.
 *
 * A run with `BENCH_QUICK=1` (a short smoke run) writes to the OS temp directory instead, so it
 * never replaces the published figures.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { join, relative } from 'node:path';

const ROOT = join(import.meta.dirname, '..');

/** Whether this run is a short smoke run whose page must not replace the published one. */
export const QUICK = process.env.BENCH_QUICK === '1';

/** Where pages go: `docs/benchmarks/`, or a temp directory for a quick run. */
export const PAGES_DIR = QUICK
  ? join(os.tmpdir(), 'aic-benchmarks')
  : join(ROOT, 'docs', 'benchmarks');

/** A goal of the benchmark and how the run measured against it. */
export interface Goal {
  readonly goal: string;
  readonly measured: string;
  readonly target: string;
  /** `undefined` for a reference row that has no target of its own. */
  readonly met: boolean | undefined;
}

/** A titled part of the results: markdown lines (tables from {@link markdownTable}, prose). */
export interface PageSection {
  readonly heading: string;
  readonly body: readonly string[];
}

/** What a benchmark reports. */
export interface BenchmarkPage {
  /** File name without `.md`, under docs/benchmarks/. */
  readonly name: string;
  readonly title: string;
  /** The benchmark's source, relative to the repository, e.g. `bench/limiter.ts`. */
  readonly source: string;
  /** One or two sentences: what is measured. */
  readonly measures: string;
  readonly goals: readonly Goal[];
  /** The baseline measured in the same run, and the ratio against it. */
  readonly baseline: string;
  readonly results: readonly PageSection[];
  /** A short paragraph: how the figures are taken. */
  readonly method: string;
  /** Facts of the machine beyond the common ones (library and server versions). */
  readonly machine?: readonly string[];
}

/** When and under what load a run started; {@link startRun} takes it before any work. */
export interface BenchmarkRun {
  readonly startedAt: Date;
  readonly started: number;
  readonly loadAtStart: number;
}

/** Marks the start of a run: its date and the machine's load average before any work. */
export function startRun(): BenchmarkRun {
  return { startedAt: new Date(), started: performance.now(), loadAtStart: loadAverage() };
}

/** A markdown table. Cells must not contain `|`. */
export function markdownTable(
  header: readonly string[],
  rows: readonly (readonly string[])[],
): string[] {
  return [
    `| ${header.join(' | ')} |`,
    `|${header.map(() => '---').join('|')}|`,
    ...rows.map((row) => `| ${row.join(' | ')} |`),
  ];
}

/** Whether every goal with a target is met. */
export function allMet(goals: readonly Goal[]): boolean {
  return goals.every((goal) => goal.met !== false);
}

/** Writes the page (and prints it); returns its path. */
export async function writeBenchmarkPage(run: BenchmarkRun, page: BenchmarkPage): Promise<string> {
  const text = renderPage(run, page);
  await mkdir(PAGES_DIR, { recursive: true });
  const path = join(PAGES_DIR, `${page.name}.md`);
  await writeFile(path, text);
  process.stdout.write(text);
  process.stderr.write(`wrote ${relative(process.cwd(), path)}\n`);
  return path;
}

function renderPage(run: BenchmarkRun, page: BenchmarkPage): string {
  const seconds = (performance.now() - run.started) / 1000;
  const lines = [
    `# ${page.title}`,
    '',
    page.measures,
    '',
    ...markdownTable(
      ['', ''],
      [
        ['Command', `\`${commandLine()}\``],
        ['Date', `${utc(run.startedAt)} (the run took ${seconds.toFixed(0)} s)`],
        ['Machine', [...machineFacts(), ...(page.machine ?? [])].join(', ')],
        [
          'Load average (1 min)',
          `${run.loadAtStart.toFixed(2)} at the start, ${loadAverage().toFixed(2)} at the end (${os.availableParallelism()} cores)`,
        ],
      ],
    ),
    '',
    `Written by \`${page.source}\` each time it runs${QUICK ? ' (BENCH_QUICK=1: a short smoke run, not the published figures)' : ''}; rerun the command to refresh it. The machine may be shared: read the timings with the load average beside them.`,
    '',
    '## Goals',
    '',
    ...markdownTable(
      ['goal', 'measured', 'target', 'verdict'],
      page.goals.map((g) => [g.goal, g.measured, g.target, verdict(g.met)]),
    ),
    '',
    '## Baseline',
    '',
    page.baseline,
    '',
    '## Results',
    '',
    ...page.results.flatMap((section) => [`### ${section.heading}`, '', ...section.body, '']),
    '## Method',
    '',
    page.method,
    '',
  ];
  return lines.join('\n');
}

function verdict(met: boolean | undefined): string {
  if (met === undefined) return '-';
  return met ? 'met' : '**not met**';
}

function loadAverage(): number {
  return os.loadavg()[0] ?? Number.NaN;
}

function utc(date: Date): string {
  return `${date.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function machineFacts(): string[] {
  const cpus = os.cpus();
  return [
    `${cpus.length} x ${cpus[0]?.model.trim() ?? 'unknown CPU'}`,
    `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB memory`,
    `Node ${process.version}`,
    `${os.type()} ${os.release()}`,
  ];
}

/**
 * The command as it was run: the npm script (or the file run with tsx), preceded by the benchmark
 * settings taken from the environment, so a run with other settings says so.
 */
function commandLine(): string {
  const settings = Object.entries(process.env)
    .filter(([name]) => /^(BENCH|LOAD)_/.test(name))
    .map(([name, value]) => `${name}=${value}`)
    .sort();
  const script = process.env.npm_lifecycle_event;
  const entry = process.argv[1] ? relative(ROOT, process.argv[1]) : 'bench';
  return [...settings, script ? `npm run ${script}` : `npx tsx ${entry}`].join(' ');
}
