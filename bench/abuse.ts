/**
 * `npm run abuse`: the abuse suite at full scale (test/support/abuse/). Each attack runs against a
 * fresh local runtime in its own process, after a baseline phase of the same run in which the
 * legitimate clients (a media server over gRPC and one over HTTP, 640x360 frames, one at a time)
 * run alone; so do the floors of the attacks that cost CPU by design. Writes
 * docs/benchmarks/abuse.md and the table of docs/reliability.md section 6; exits 1 when a goal is
 * missed.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  runScenario,
  type ScenarioResult,
  type ScenarioTarget,
  summarise,
} from '../test/support/abuse/scenario.ts';
import {
  type Attack,
  attacks,
  FULL_SCALE,
  floors,
  startSuiteRuntime,
  suiteFrames,
} from '../test/support/abuse/suite.ts';
import { fixed, ms, times } from './format.ts';
import {
  allMet,
  type BenchmarkRun,
  type Goal,
  markdownTable,
  QUICK,
  startRun,
  writeBenchmarkPage,
} from './report-page.ts';

/** The goals. */
const GOALS = { stalledRssGrowthMiB: 150, p95Ratio: 2 };

const RELIABILITY = join(import.meta.dirname, '..', 'docs', 'reliability.md');
const MARKERS = ['<!-- abuse-table:start -->', '<!-- abuse-table:end -->'] as const;
const FLOOR = 'floor: ';

interface Run {
  result: ScenarioResult;
  figures: ReturnType<typeof summarise>;
}

/** The attacks, then their floors, in one list (a fresh runtime runs each). */
function scenarios(target: ScenarioTarget, large: Buffer, token: string): Attack[] {
  return [...attacks(target, FULL_SCALE, large, token), ...floors(target, FULL_SCALE, large)];
}

async function runAll(): Promise<Run[]> {
  const frames = await suiteFrames();
  const blank: ScenarioTarget = {
    ...{ httpUrl: '', grpcAddress: '', user: '', paceMs: 0, authorization: '', probeFile: '' },
    frame: frames.frame,
  };
  const runs: Run[] = [];
  for (let index = 0; index < scenarios(blank, frames.large, '').length; index++) {
    const runtime = await startSuiteRuntime(frames.frame);
    try {
      const attack = scenarios(runtime.target, frames.large, runtime.attackerToken)[index];
      if (!attack) continue;
      process.stderr.write(`[abuse] ${attack.name}\n`);
      const result = await runScenario(attack.name, runtime.target, attack.run, FULL_SCALE);
      runs.push({ result, figures: summarise(result) });
    } finally {
      await runtime.stop();
    }
  }
  return runs;
}

const ratio = (p95: { baseline: number; attack: number }) => p95.attack / p95.baseline;
const worstRatio = ({ figures }: Run) => Math.max(ratio(figures.grpcP95), ratio(figures.httpP95));
const serverErrors = ({ result }: Run) =>
  Object.entries(result.attackOutcomes)
    .filter(([outcome]) => /^5\d\d$/.test(outcome))
    .reduce((sum, [, n]) => sum + n, 0);

/** The floor run of an attack, when it has one. */
function floorOf(runs: readonly Run[], name: string): Run | undefined {
  const kind = /3840x2160/.test(name)
    ? 'streaming 3840x2160'
    : /new session id/.test(name)
      ? 'frames of one session'
      : /readiness/.test(name)
        ? '/liveness flood'
        : undefined;
  return kind ? runs.find((run) => run.result.name.includes(kind)) : undefined;
}

function floorText(floor: Run | undefined): string {
  if (!floor) return '';
  return ` (floor, ${floor.result.name.slice(FLOOR.length)}: ${times(worstRatio(floor))})`;
}

function goals(all: readonly Run[]): Goal[] {
  const runs = all.filter((run) => !run.result.name.startsWith(FLOOR));
  const stalled = runs[0]?.figures;
  const unharmed = all.every(
    (run) => run.result.aliveAfter && run.figures.legitFailures === 0 && serverErrors(run) === 0,
  );
  return [
    {
      goal: `${FULL_SCALE.stalledCalls} stalled unauthenticated calls: RSS growth`,
      measured: stalled ? `${fixed(stalled.rssGrowthMiB, 0)} MiB` : 'n/a',
      target: `≤ ${GOALS.stalledRssGrowthMiB} MiB`,
      met: stalled !== undefined && stalled.rssGrowthMiB <= GOALS.stalledRssGrowthMiB,
    },
    ...runs.map((run) => ({
      goal: `legitimate p95 under attack / without it: ${run.result.name}`,
      measured: `${times(worstRatio(run))}${floorText(floorOf(all, run.result.name))}`,
      target: `≤ ${GOALS.p95Ratio}x`,
      met: worstRatio(run) <= GOALS.p95Ratio,
    })),
    {
      goal: 'no crash, no 5xx, every legitimate frame answered',
      measured: unharmed ? 'none' : 'see the table',
      target: 'none',
      met: unharmed,
    },
  ];
}

function table(runs: readonly Run[]): string[] {
  return markdownTable(
    [
      'attack',
      'RSS growth (peak)',
      'event loop p99 / max',
      'gRPC p95 without / with',
      'HTTP p95 without / with',
      'legit failures',
      'attack outcomes',
    ],
    runs.map(({ result, figures: f }) => [
      result.name,
      `${fixed(f.rssGrowthMiB, 0)} MiB (${fixed(f.rssPeakMiB, 0)} MiB)`,
      `${ms(f.loopP99Ms, 1)} / ${ms(f.loopMaxMs, 1)}`,
      `${ms(f.grpcP95.baseline, 1)} / ${ms(f.grpcP95.attack, 1)}`,
      `${ms(f.httpP95.baseline, 1)} / ${ms(f.httpP95.attack, 1)}`,
      String(f.legitFailures),
      Object.entries(result.attackOutcomes)
        .map(([outcome, n]) => `${outcome}: ${n}`)
        .join(', ') || 'none',
    ]),
  );
}

async function updateReliability(run: BenchmarkRun, lines: readonly string[]): Promise<void> {
  if (QUICK) return;
  const text = await readFile(RELIABILITY, 'utf8');
  const [start, end] = MARKERS;
  const from = text.indexOf(start);
  const to = text.indexOf(end);
  if (from < 0 || to < from) throw new Error(`docs/reliability.md has no ${start} ... ${end}`);
  const date = run.startedAt.toISOString().slice(0, 16).replace('T', ' ');
  const dated = [
    `Run of ${date} UTC (\`npm run abuse\`; machine, goals and method in [benchmarks/abuse.md](benchmarks/abuse.md)):`,
    '',
    ...lines,
  ];
  await writeFile(
    RELIABILITY,
    `${text.slice(0, from + start.length)}\n${dated.join('\n')}\n${text.slice(to)}`,
  );
}

const METHOD = [
  'The runtime is `functions/local/main.ts` (what `npm start` runs) with a private database and',
  'Redis prefix, and a probe preloaded that samples its event-loop delay and RSS every 250 ms',
  "(event loop: the median and the largest of the 250 ms intervals' p99 and max). The legitimate",
  'clients send a 640x360 JPEG one frame at a time with 50 ms between an answer and the next frame.',
  'RSS growth is the peak during the attack minus the lowest of the last four samples before it.',
  'The floors run like attacks: an honest client of the same kind (one 3840x2160 stream, one frame',
  'at a time; a flood of `/liveness`, which touches no dependency), bounding from below what any',
  'limit can achieve on this machine, where the attacker and the legitimate clients share 2 cores.',
].join(' ');

async function main(): Promise<void> {
  const run = startRun();
  const runs = await runAll();
  const pageGoals = goals(runs);
  const lines = table(runs);
  await writeBenchmarkPage(run, {
    name: 'abuse',
    title: 'Abuse suite: `npm run abuse`',
    source: 'bench/abuse.ts',
    measures:
      "Five attacks on the public edges, each against a fresh local runtime, while a legitimate media server sends frames over gRPC and HTTP: the server's memory and event-loop delay during the attack, and the legitimate frames' latency with and without it.",
    goals: pageGoals,
    baseline: `Each scenario first runs the legitimate clients alone for ${FULL_SCALE.baselineMs / 1000} s (the baseline), then with the attack for ${FULL_SCALE.attackMs / 1000} s; the ratio is the worse of the gRPC and HTTP p95 ratios.`,
    results: [{ heading: 'Per attack', body: lines }],
    method: METHOD,
  });
  await updateReliability(run, lines);
  if (!allMet(pageGoals)) process.exitCode = 1;
}

await main();
