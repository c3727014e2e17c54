/**
 * The page of bench/metrics.ts (docs/benchmarks/metrics.md): goals, the baseline, the throughput
 * and latency table, the profile of each stage, the crash test and the method.
 */
import { count, fixed, ms, pct, times } from './format.ts';
import { METHOD, proposalsSection } from './metrics-page-notes.ts';
import { checksSection, crashSection, profileSections } from './metrics-page-profile.ts';
import {
  applyingShare,
  bestRun,
  GOAL_RATIO,
  type MetricsReport,
  pair,
  rate,
  setupOf,
} from './metrics-report.ts';
import {
  type BenchmarkRun,
  type Goal,
  markdownTable,
  type PageSection,
  writeBenchmarkPage,
} from './report-page.ts';

/** The service's Redis deadline (REDIS_COMMAND_TIMEOUT_MS): an ack slower falls back to Postgres. */
const SERVICE_REDIS_TIMEOUT_MS = 50;

/** The goals: the ratio per shape, the crash test, every frame counted once. */
export function goalsOf(report: MetricsReport): Goal[] {
  const ratios = report.shapes.map((run) => {
    const best = bestRun(run);
    const ratio = best.framesPerS / run.baseline.framesPerS;
    return {
      goal: `stream frames/s against the per-frame statement, ${run.shape.label}`,
      measured: `${times(ratio, 1)} (${rate(best.framesPerS)} against ${rate(run.baseline.framesPerS)} frames/s; ${setupOf(best)})`,
      target: `>= ${GOAL_RATIO}x`,
      met: ratio >= GOAL_RATIO,
    };
  });
  const checks = report.shapes.flatMap((run) => run.checks);
  return [
    ...ratios,
    {
      goal: 'crash test: consumers killed with SIGKILL mid-run, every frame answered counted once',
      measured: report.crash.pass ? 'PASS' : 'FAIL',
      target: 'PASS',
      met: report.crash.pass,
    },
    {
      goal: 'throughput runs: every frame answered counted once (sessions, rollups, windowTotals)',
      measured: `${checks.filter((c) => c.pass).length} of ${checks.length} checks pass`,
      target: 'all',
      met: checks.every((c) => c.pass),
    },
  ];
}

export function baselineText(report: MetricsReport): string {
  const parts = report.shapes.map(
    (run) =>
      `${run.shape.label}: ${rate(run.baseline.framesPerS)} frames/s (${count(run.baseline.frames)} frames in ${run.baseline.seconds.toFixed(1)} s; a statement's p50 / p99 ${pair(run.baseline.statement.p50, run.baseline.statement.p99)})`,
  );
  const clients = report.shapes[0]?.baseline.clients ?? 0;
  return `Today's per-frame statement, measured in the same run on the same database: each frame stored by its own \`createPostgresFrameLog(sql).append([event])\` (the consumer's statement with a batch of one: the frame row, the session's totals and the three hourly rollups, one transaction per frame, like the request path before the stream), from ${clients} concurrent clients on a pool of ${clients} connections. ${parts.join('; ')}. The ratios below are against the baseline of the same shape.`;
}

export function throughputSection(report: MetricsReport): PageSection {
  const rows = report.shapes.flatMap((run) =>
    run.streams.map((s) => [
      run.shape.label,
      setupOf(s),
      rate(run.baseline.framesPerS),
      rate(s.framesPerS),
      s.settings.fps === undefined ? times(s.framesPerS / run.baseline.framesPerS, 1) : '(paced)',
      pair(s.ack.p50, s.ack.p99),
      pair(s.visible.p50, s.visible.p99, 0),
    ]),
  );
  return {
    heading: 'Throughput and latency',
    body: [
      ...markdownTable(
        [
          'shape',
          'setup',
          'baseline frames/s',
          'stream frames/s',
          'ratio',
          'ack p50 / p99',
          'visible p50 / p99',
        ],
        rows,
      ),
      '',
      `Stream frames/s: frames answered over the time from the first append to the commit of the batch holding the last one. Ack: an append's wait for its acknowledgement (the batcher's linger and the XADD pipeline). Visible: from a frame's answer to the commit of its batch, when \`sessions.frames_total\` and the rollups show it. In the unpaced runs the producers append faster than the consumers apply, so the stream holds a backlog and "visible" is mostly the wait in it; the paced runs (a video stream's rate per producer, below what the consumers take) show the path's own delay.`,
    ],
  };
}

export function runDetailSection(report: MetricsReport): PageSection {
  const rows = report.shapes.flatMap((run) =>
    run.streams.map((s) => {
      const slow = s.producer.ackMs.filter((v) => v > SERVICE_REDIS_TIMEOUT_MS).length;
      const batches = s.consumers.reduce((sum, c) => sum + c.batches, 0);
      return [
        run.shape.label,
        setupOf(s),
        `${count(s.frames)} in ${s.seconds.toFixed(1)} s`,
        `${fixed(s.frames / s.producer.pipelines, 0)} events, ${ms(s.producer.pipelineMs / s.producer.pipelines, 1)}`,
        `${count(slow)} (${pct(slow / s.frames)})`,
        count(s.producer.retries),
        `${count(batches)}, ${fixed(s.frames / batches, 0)}`,
        pct(applyingShare(s)),
      ];
    }),
  );
  return {
    heading: 'The runs in detail',
    body: [
      ...markdownTable(
        [
          'shape',
          'setup',
          'frames',
          'XADD pipeline: mean size, time',
          `acks > ${SERVICE_REDIS_TIMEOUT_MS} ms`,
          'retried appends',
          'consumer batches, mean size',
          'consumer time applying',
        ],
        rows,
      ),
      '',
      `An ack slower than the service's Redis deadline (\`REDIS_COMMAND_TIMEOUT_MS\`, ${SERVICE_REDIS_TIMEOUT_MS} ms by default) would have failed there, and the service would have written its batch to Postgres instead (\`withFallback\`); the benchmark gives Redis 2 s so that it measures the stream. In the service the frame log shares the rate limiter's \`GuardedRedis\`, so such timeouts also count towards its breaker (by default 5 failures open it for 60 s, sending every append to Postgres meanwhile): a \`GuardedRedis\` of its own for the frame log, with a deadline sized for a pipeline of 500 XADDs, would keep a burst of slow appends from closing the stream path. Consumer time applying: the consumers' time in their handler (parsing, the statement) against the time between batches (XACK + XDEL, the next XREADGROUP, waiting for entries).`,
    ],
  };
}

/** Writes the page; returns whether every goal is met. */
export async function writeMetricsPage(run: BenchmarkRun, report: MetricsReport): Promise<boolean> {
  const goals = goalsOf(report);
  await writeBenchmarkPage(run, {
    name: 'metrics',
    title: 'Frame metrics: the stream against the per-frame statement',
    source: 'bench/metrics.ts',
    measures: `How many answered frames a second reach the dashboard's tables (the frame row, the session's totals, the three hourly rollups) through the Redis stream and its consumers, against today's per-frame statement, for many tenants and for one tenant with many sessions; how long a frame waits for its acknowledgement and until the dashboard shows it; and whether every frame is counted exactly once when consumers are killed mid-run.`,
    machine: report.versions,
    goals,
    baseline: baselineText(report),
    results: [
      throughputSection(report),
      runDetailSection(report),
      ...profileSections(report),
      crashSection(report.crash),
      checksSection(report),
      proposalsSection(report),
    ],
    method: METHOD,
  });
  return goals.every((g) => g.met !== false);
}
