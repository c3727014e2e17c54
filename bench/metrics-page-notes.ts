/**
 * The prose of the metrics page (bench/metrics-page.ts): what would speed the path up, with this
 * run's figures, and the method.
 */
import { fixed, pct, times } from './format.ts';
import type { StatementFloor } from './metrics-profile.ts';
import {
  applyingShare,
  bestRun,
  cpuPerFrame,
  GOAL_RATIO,
  type MetricsReport,
  rate,
  type ShapeRun,
} from './metrics-report.ts';
import { CONSUMER_BATCH } from './metrics-stream.ts';
import type { PageSection } from './report-page.ts';

/** The floor of `shape` at `batchSize` with the most statements at a time. */
function floorOf(
  report: MetricsReport,
  shape: string,
  batchSize: number,
): StatementFloor | undefined {
  return report.floors
    .filter((f) => f.shape === shape && f.batchSize === batchSize)
    .reduce<StatementFloor | undefined>(
      (a, b) => (a && a.concurrency >= b.concurrency ? a : b),
      undefined,
    );
}

/** What bounds a shape's best run: the statement alone, or the rest of the path beside it. */
function boundLine(report: MetricsReport, run: ShapeRun): string {
  const best = bestRun(run);
  const cpu = cpuPerFrame(best);
  const floor = floorOf(report, run.shape.label, CONSUMER_BATCH);
  const big = floorOf(report, run.shape.label, 2000);
  const goal = run.baseline.framesPerS * GOAL_RATIO;
  if (!floor) return `- ${run.shape.label}: no floor was measured.`;
  const share = best.framesPerS / floor.framesPerS;
  const head = `- ${run.shape.label}: end to end ${rate(best.framesPerS)} frames/s, ${pct(share, 0)} of the statement alone (${rate(floor.framesPerS)} frames/s, ${floor.concurrency} at a time); ${GOAL_RATIO}x the baseline is ${rate(goal)}. Postgres took ${fixed(cpu.postgres, 0)} of the ${fixed(cpu.total, 0)} µs of CPU per frame (${pct(cpu.postgres / cpu.total, 0)}), autovacuum ${fixed(cpu.autovacuum, 0)} more.`;
  const bound =
    share >= 0.9
      ? " The path runs at the statement's pace: the statement bounds it."
      : ` The rest of the path takes the difference: ${fixed(cpu.total - cpu.postgres, 0)} µs of CPU per frame outside the statements on the same cores, and consumers that apply ${pct(applyingShare(best), 0)} of their time (each reads and acknowledges between its statements).`;
  const why =
    floor.framesPerS < goal
      ? `${bound} The statement alone is below the goal on this machine: no change outside it can meet the goal here.`
      : bound;
  const larger = big
    ? ` Batches of 2,000 take the statement alone to ${rate(big.framesPerS)} frames/s (${times(big.framesPerS / floor.framesPerS, 2)}).`
    : '';
  return head + why + larger;
}

/** What would speed the path up, with this run's figures. */
export function proposalsSection(report: MetricsReport): PageSection {
  const r = report.read;
  return {
    heading: 'What would speed it up',
    body: [
      'What bounds the best run of each shape:',
      '',
      ...report.shapes.map((run) => boundLine(report, run)),
      '',
      'Proposals for the statement and its tables (`functions/platform/db/frame-metrics-repository.ts`; not made by this benchmark):',
      '',
      '- Larger batches where one key meets several frames: every batch upserts one row per session, per (user, hour, session), per (user, hour) and per (user, hour, latency bucket) it touches, so with 1,000 single-session tenants a batch of 500 pays four upserts per frame. The Kinesis event source mapping takes up to 10,000 records and a batching window; the local consumer reads `METRICS_BATCH_MAX_EVENTS` (1,000 by default, up to 10,000); this benchmark reads 500. The floor table above shows what 2,000 gives.',
      '- Already made, after earlier runs of this benchmark: one BRIN index on `frame_metrics.recorded_at` instead of two, and HOT updates of `sessions` (its `last_seen_at` moves a minute at a time, with room left in its pages; migration 0006).',
      '',
      'Proposal for the consumer loop (`functions/platform/metrics/redis-stream-consumer.ts`): read the next batch while the statement of the last one runs, and acknowledge without waiting, so that each consumer keeps a statement in flight all the time instead of the share the detail table shows.',
      '',
      `The consumer's own work is small beside the statement: ${fixed(r.parseUs + r.zodUs, 1)} µs a frame to parse and check, ${fixed(r.paramUs, 1)} µs to serialise the events again as the statement's parameter (passing the records' own JSON, \`'[' + records.join(',') + ']'\`, after the check would save that). The producers spend ${fixed(report.producer.cpuUs, 0)} µs of CPU a frame, mostly building one XADD per event; one stream entry per batch (the batch as a JSON array, as the Kinesis Producer Library aggregates records) would cut that and Redis's share several-fold, at the cost of the one-frame-per-record contract. Tried by hand on this machine, \`json_to_recordset\` instead of \`jsonb_to_recordset\` and a prepared statement made no difference beyond the noise.`,
      '',
      'Here the producers, Redis, both consumers and Postgres share the same cores (with whatever else runs: see the load average). On AWS the producers (the gRPC tasks) and the consumer (Lambda) run elsewhere, so the floor with two statements at a time is the figure to hold against the goal there.',
    ],
  };
}

/** How the figures are taken. */
export const METHOD = [
  "The benchmark creates a database of its own (`aic_bench_metrics_<random>`, migrated, dropped at the end) and a key prefix of its own on the shared Redis (deleted at the end). Each shape's sessions are claimed first (`claimSession`), as the service claims a session before its first frame. Frame events vary their sizes, SSIM and timings with the frame number, so they spread over the quality bands and latency buckets; the benchmark keeps, per session, the frames answered and their byte sums.",
  `Baseline: ${'16'} clients store frames one statement each through \`createPostgresFrameLog(sql).append([event])\`, round robin over the shape's sessions, until 20,000 frames or 10 s. Stream: producers (async loops in the benchmark's process) append one event at a time through \`batching(createRedisStreamFrameLog(...), { lingerMs: 5, maxEvents: 500 })\` on a \`GuardedRedis\` (a 2 s deadline instead of the service's 50 ms, so a slow append is measured, not failed over; the acks slower than 50 ms are counted), each awaiting its append (the frame's acknowledgement), for 8 s; two consumers run the service's read loop (\`startRedisStreamConsumer\`, batches of 500, a 200 ms blocking read) with \`consumeFrameRecords\` as the handler, either in child processes (\`node --import tsx bench/metrics-consumer-process.ts\`) or in the benchmark's process; both placements are measured and the goal is judged on the faster. A frame's visibility is the commit time of its batch less its \`recorded_at\` (set when it is answered), taken in the handler right after the statement returns. The paced runs send 15 frames a second per producer.`,
  "Profile: the producers alone for 3 s with nobody consuming; one reader over what they left, timing XREADGROUP, JSON.parse, the zod check, the statement's JSON parameter and XACK + XDEL; `applyFrameEvents` alone on pre-built batches (of 500 one and two at a time, of 2,000 two at a time), right after each shape's stream runs. CPU per frame comes from `process.cpuUsage()` and /proc (client backends and autovacuum workers apart).",
  "Crash test: one tenant with 50 sessions, 200 producers at 20 frames/s for 8 s. Consumer `crash-a` (a child process) is killed with SIGKILL as it takes a batch in hand; a new `crash-a` reads its pending entries first, and is killed after committing a batch and before acknowledging it; consumer `crash-b` (claimIdleMs 1 s) then takes the pending entries over with XAUTOCLAIM. Once the group has delivered and had acknowledged every entry, the benchmark compares each session's `frames_total`, the sums of both hourly rollups, the frame rows, and `windowTotals` over the last hour (frames, bytes in, bytes out) with what was answered.",
].join('\n\n');
