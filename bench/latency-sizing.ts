/**
 * The pure part of the memory-size runs of `bench:latency`: the Lambda sizes the run emulates,
 * what a frame costs at a size (billed GB-seconds at the published arm64 price, plus the request
 * charge), the size chosen, and the page's table and method.
 */
import { MIB_PER_VCPU } from '../lib/config/environment-config.ts';
import { fixed } from './format.ts';
import type { FrameSample } from './latency-stats.ts';
import { type Goal, markdownTable } from './report-page.ts';
import { mean, quantile } from './stats.ts';

/** The published arm64 prices, first tier, in eu-west-1 and us-east-1 (USD). */
export const ARM64_PRICE = { perGbSecond: 0.0000133334, perRequest: 0.2 / 1e6 } as const;

/** A price of Lambda: per GB-second of billed duration, and per request. */
export type LambdaPrice = { readonly perGbSecond: number; readonly perRequest: number };

/** The most memory a new account's functions may have: about 1.7 vCPUs, which no whole number of cores is. */
export const NEW_ACCOUNT_MEMORY_MIB = 3008;

/** The policy's latency budget at 1280x720, which decode + engine must keep at p95. */
export const LATENCY_BUDGET_MS = 20;

/** A Lambda memory size, and the cores (a `taskset` list) that emulate its vCPUs. */
export interface LambdaSize {
  readonly memoryMiB: number;
  readonly vcpus: number;
  readonly cpuList: string;
}

/** The sizes the run emulates: one whole vCPU and two. */
export const EMULATED_SIZES: readonly LambdaSize[] = [
  { memoryMiB: MIB_PER_VCPU, vcpus: 1, cpuList: '0' },
  { memoryMiB: 2 * MIB_PER_VCPU, vcpus: 2, cpuList: '0,1' },
];

/**
 * GB-seconds Lambda bills for invocations lasting `durationsMs` at `memoryMiB`: each duration
 * rounded up to the next whole millisecond, times the memory in GB (MiB / 1024).
 */
export function billedGbSeconds(durationsMs: readonly number[], memoryMiB: number): number {
  const gb = memoryMiB / 1024;
  return durationsMs.reduce((sum, ms) => sum + (Math.ceil(ms) / 1000) * gb, 0);
}

/** What a frame costs at a memory size. */
export interface FrameCost {
  readonly gbSecondsPerFrame: number;
  /** Duration and request charges of a million such frames, USD. */
  readonly dollarsPerMillion: number;
}

/** The mean cost of the frames that lasted `durationsMs`, scaled to a million frames. */
export function costPerMillion(
  durationsMs: readonly number[],
  memoryMiB: number,
  price: LambdaPrice = ARM64_PRICE,
): FrameCost {
  const gbSecondsPerFrame = billedGbSeconds(durationsMs, memoryMiB) / durationsMs.length;
  const perFrame = gbSecondsPerFrame * price.perGbSecond + price.perRequest;
  return { gbSecondsPerFrame, dollarsPerMillion: 1e6 * perFrame };
}

/**
 * What Lambda bills of a frame, ms: the whole request in the service (decode, engine, storing, the
 * answer kept) plus the handler's own share, the request body's parse and the response's encoding.
 */
export function billedMsOf(phases: FrameSample['phases']): number {
  const first = (key: keyof FrameSample['phases']) => phases[key]?.[0] ?? 0;
  return first('svcWall') + first('request') + first('base64') + first('json');
}

/** One emulated size's frames. */
export interface SizingRun {
  readonly size: LambdaSize;
  readonly decodeEngineMs: readonly number[];
  /** The service's `latency_ms.total` of each frame. */
  readonly totalMs: readonly number[];
  /** What Lambda would bill of each frame ({@link billedMsOf}). */
  readonly billedMs: readonly number[];
  /** The CPUs the pinned process saw (`os.availableParallelism()`), the pinning's check. */
  readonly cpusSeen: number;
}

/** A size's figures, as the table shows them. */
export interface SizingRow {
  readonly size: LambdaSize;
  readonly decodeEngine: { readonly p50: number; readonly p95: number };
  readonly total: { readonly p50: number; readonly p95: number };
  readonly withinBudget: boolean;
  readonly meanBilledMs: number;
  readonly cost: FrameCost;
}

const p50p95 = (values: readonly number[]) => ({
  p50: quantile(values, 50),
  p95: quantile(values, 95),
});

/** A run's percentiles, whether decode + engine keeps `budgetMs` at p95, and its cost. */
export function sizingRow(run: SizingRun, budgetMs = LATENCY_BUDGET_MS): SizingRow {
  const decodeEngine = p50p95(run.decodeEngineMs);
  return {
    size: run.size,
    decodeEngine,
    total: p50p95(run.totalMs),
    withinBudget: decodeEngine.p95 <= budgetMs,
    meanBilledMs: mean(run.billedMs),
    cost: costPerMillion(run.billedMs, run.size.memoryMiB),
  };
}

/** The size chosen, and whether it keeps the budget. */
export interface SizeChoice {
  readonly row: SizingRow;
  readonly withinBudget: boolean;
}

/**
 * The cheapest size among those that keep the budget; when none does, the one with the lowest
 * decode + engine p95. Undefined without rows.
 */
export function chooseSize(rows: readonly SizingRow[]): SizeChoice | undefined {
  const within = rows.filter((r) => r.withinBudget);
  const pool = within.length > 0 ? within : rows;
  const better = (a: SizingRow, b: SizingRow) =>
    within.length > 0
      ? a.cost.dollarsPerMillion < b.cost.dollarsPerMillion
      : a.decodeEngine.p95 < b.decodeEngine.p95;
  const best = pool.reduce<SizingRow | undefined>(
    (found, row) => (found === undefined || better(row, found) ? row : found),
    undefined,
  );
  return best && { row: best, withinBudget: within.length > 0 };
}

/** What the sizing runs gave, for the page. */
export interface SizingReport {
  readonly runs: readonly SizingRun[];
  readonly profiles: readonly string[];
  /** The 1-minute load average before and after the runs. */
  readonly load: { readonly start: number; readonly end: number };
  /** Why the sizes could not be emulated, when they could not. */
  readonly unavailable?: string;
}

const sizeLabel = (memoryMiB: number, vcpus: number, digits = 0) =>
  `${memoryMiB} MiB (${fixed(vcpus, digits)} vCPU${vcpus === 1 ? '' : 's'})`;
const pair = (p: { p50: number; p95: number }) => `${fixed(p.p50, 1)} / ${fixed(p.p95, 1)}`;
const dollars = (value: number) => `$${fixed(value, 2)}`;

/** A measured size's row. */
function measuredCells(row: SizingRow, chosen: boolean): string[] {
  const label = sizeLabel(row.size.memoryMiB, row.size.vcpus);
  return [
    chosen ? `**${label}**` : label,
    `\`taskset -c ${row.size.cpuList}\`, ${row.size.vcpus} libvips and libuv thread${row.size.vcpus === 1 ? '' : 's'}`,
    pair(row.decodeEngine),
    pair(row.total),
    row.withinBudget ? 'yes' : 'no',
    fixed(row.meanBilledMs, 1),
    fixed(row.cost.gbSecondsPerFrame, 4),
    dollars(row.cost.dollarsPerMillion),
  ];
}

/** A new account's largest size, between the two measured ones: its figures as ranges, its cost on both runs. */
function currentCells(one: SizingRun, two: SizingRun): string[] {
  const [fast, slow] = [sizingRow(two), sizingRow(one)];
  const range = (a: number, b: number, digits: number) =>
    `${fixed(Math.min(a, b), digits)} to ${fixed(Math.max(a, b), digits)}`;
  const [low, high] = [two, one]
    .map((run) => costPerMillion(run.billedMs, NEW_ACCOUNT_MEMORY_MIB))
    .sort((a, b) => a.dollarsPerMillion - b.dollarsPerMillion) as [FrameCost, FrameCost];
  return [
    `${sizeLabel(NEW_ACCOUNT_MEMORY_MIB, NEW_ACCOUNT_MEMORY_MIB / MIB_PER_VCPU, 2)}, a new account's limit`,
    'not emulated: between the two',
    `p95 ${range(fast.decodeEngine.p95, slow.decodeEngine.p95, 1)}`,
    `p95 ${range(fast.total.p95, slow.total.p95, 1)}`,
    fast.withinBudget === slow.withinBudget ? (fast.withinBudget ? 'yes' : 'no') : 'in between',
    range(fast.meanBilledMs, slow.meanBilledMs, 1),
    range(low.gbSecondsPerFrame, high.gbSecondsPerFrame, 4),
    `${dollars(low.dollarsPerMillion)} to ${dollars(high.dollarsPerMillion)}`,
  ];
}

/** The sizing table: one row per emulated size, a new account's largest size between them. */
export function sizingTable(report: SizingReport): string[] {
  const rows = report.runs.map((run) => sizingRow(run));
  const choice = chooseSize(rows);
  const cells = rows.map((row) => measuredCells(row, row === choice?.row));
  const [one, two] = report.runs;
  if (one && two) cells.splice(1, 0, currentCells(one, two));
  return markdownTable(
    [
      'memory (vCPUs)',
      'emulated as',
      'decode + engine p50 / p95, ms',
      '`latency_ms.total` p50 / p95, ms',
      `decode + engine p95 within ${LATENCY_BUDGET_MS} ms`,
      'mean billed duration, ms',
      'GB-s per frame',
      '$ per million frames',
    ],
    cells,
  );
}

/** The sentence that names the chosen size and why. */
export function choiceText(report: SizingReport): string {
  const rows = report.runs.map((run) => sizingRow(run));
  const choice = chooseSize(rows);
  if (!choice) return `No size was measured: ${report.unavailable ?? 'no run'}.`;
  const { row } = choice;
  const label = sizeLabel(row.size.memoryMiB, row.size.vcpus);
  const cost = `${dollars(row.cost.dollarsPerMillion)} per million 1280x720 frames (${fixed(row.cost.gbSecondsPerFrame, 4)} GB-s a frame, mean billed duration ${fixed(row.meanBilledMs, 1)} ms)`;
  const others = rows
    .filter((other) => other !== row)
    .map(
      (o) =>
        `${sizeLabel(o.size.memoryMiB, o.size.vcpus)}: p95 ${fixed(o.decodeEngine.p95, 1)} ms, ${dollars(o.cost.dollarsPerMillion)} (${fixed(o.cost.dollarsPerMillion / row.cost.dollarsPerMillion, 2)}x the cost)`,
    );
  const against = others.length > 0 ? ` Against ${others.join('; ')}.` : '';
  return choice.withinBudget
    ? `Chosen: **${label}**, the lowest cost per frame among the sizes whose decode + engine p95 keeps the ${LATENCY_BUDGET_MS} ms budget: ${cost}.${against}`
    : `No size kept the ${LATENCY_BUDGET_MS} ms budget at p95 in this run; the one with the lowest decode + engine p95 is **${label}** (${fixed(row.decodeEngine.p95, 1)} ms): ${cost}.${against}`;
}

/** The goals table's row: the chosen size's cost per million frames, for reference. */
export function sizingGoal(report: SizingReport): Goal | undefined {
  const choice = chooseSize(report.runs.map((run) => sizingRow(run)));
  if (!choice) return undefined;
  const { size, cost } = choice.row;
  return {
    goal: 'cost per million 1280x720 frames at the chosen memory size (arm64, warm)',
    measured: `${dollars(cost.dollarsPerMillion)} at ${sizeLabel(size.memoryMiB, size.vcpus)}`,
    target: choice.withinBudget
      ? `the lowest cost within the ${LATENCY_BUDGET_MS} ms budget`
      : `no size within the ${LATENCY_BUDGET_MS} ms budget: the lowest p95`,
    met: undefined,
  };
}

/** The section's text below the table: the choice, the load, the pinning's check. */
export function sizingNotes(report: SizingReport): string[] {
  const seen = report.runs.map((r) => `${r.cpusSeen} (\`taskset -c ${r.size.cpuList}\`)`);
  const frames = report.runs[0]?.billedMs.length ?? 0;
  return [
    choiceText(report),
    '',
    `${frames} frames per size (${report.profiles.join(' and ')}, one session each), the sizes taking turns frame by frame, which of them first alternating; load average (1 min) ${fixed(report.load.start, 2)} before these runs and ${fixed(report.load.end, 2)} after. The pinned processes saw ${seen.join(' and ')} CPUs (\`os.availableParallelism()\`).`,
    '',
    `${NEW_ACCOUNT_MEMORY_MIB} MiB is about ${fixed(NEW_ACCOUNT_MEMORY_MIB / MIB_PER_VCPU, 2)} vCPUs, a share of CPU time that no whole number of cores emulates: its row gives the range between the two measured sizes, and its cost is the same frames' durations billed at ${NEW_ACCOUNT_MEMORY_MIB} MiB.`,
  ];
}

/** How the sizes are emulated and the cost worked out, with the pages the figures come from. */
export function sizingMethod(): string {
  return [
    `Memory sizes: Lambda gives a function CPU in proportion to its memory, one vCPU at ${MIB_PER_VCPU} MiB (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html), so ${MIB_PER_VCPU} MiB is emulated by a child process pinned to one core (\`taskset -c 0\`, \`UV_THREADPOOL_SIZE=1\`, \`sharp.concurrency(1)\`) and ${2 * MIB_PER_VCPU} MiB by one pinned to two (\`taskset -c 0,1\`, 2 threads each), both with the production Node flags, serving the same 1280x720 frames through the same service path and replay on the same Postgres and Redis, which stay unpinned as the managed services of a deployment are on other machines.`,
    `Each frame is billed for the whole request in the service (rate limit, decode, look-ups, engine, storing, the answer kept) plus the request body's parse and the response's encoding, rounded up to the next 1 ms as Lambda bills; GB-seconds are that duration times the memory in GB (MiB / 1024), at the published arm64 price of the first tier in eu-west-1 and us-east-1, $${ARM64_PRICE.perGbSecond} per GB-second and $0.20 per million requests (https://aws.amazon.com/lambda/pricing/; the same rate as the arm64 \`base\` entry of artillery's Lambda price table, https://app.unpkg.com/artillery@2.0.28/files/lib/platform/aws-lambda/prices.js). Warm invocations only: cold starts, the free tier and the API's own charges are not counted.`,
  ].join(' ');
}
