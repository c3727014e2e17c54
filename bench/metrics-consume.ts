/**
 * The consumer of bench/metrics.ts, the same whether it runs in the benchmark's process or in a
 * child (bench/metrics-consumer-process.ts): the service's Redis-stream read loop
 * (`startRedisStreamConsumer`) handing each batch to the service's `consumeFrameRecords`, wrapped
 * to report each applied batch and to time, for every frame, how long after it was answered its
 * batch was committed (when the dashboard can show it).
 */
import { consumeFrameRecords } from '../functions/app/frame-event-consumer.ts';
import type { Sql } from '../functions/platform/db/database.ts';
import { startRedisStreamConsumer } from '../functions/platform/metrics/redis-stream-consumer.ts';
import { createRedisClient } from '../functions/platform/redis/client.ts';

/** How one consumer is set up; JSON, so it can be handed to a child process. */
export interface ConsumerConfig {
  redisUrl: string;
  databaseUrl: string;
  /** The stream's full key (prefix included). */
  stream: string;
  group: string;
  consumer: string;
  batchSize: number;
  blockMs: number;
  claimIdleMs: number;
}

/** One batch the consumer applied: frames newly stored, records read, when (epoch ms). */
export interface AppliedReport {
  stored: number;
  received: number;
  at: number;
}

/** What a consumer did, reported when it stops. */
export interface ConsumerStats {
  batches: number;
  records: number;
  /** For every record handled: ms from its `recorded_at` (its answer) to its batch's commit. */
  visibleMs: number[];
  /** Time in `consumeFrameRecords` (parse, validate, statement), and between batches (read, ack). */
  handleMs: number;
  betweenMs: number;
  /** CPU time of the consumer's process while it ran (ms); meaningful for a child only. */
  cpuMs: number;
  errors: number;
}

/** Hooks of {@link startBenchConsumer}. */
export interface ConsumerHooks {
  /** A batch is about to be applied (the crash test kills the process on it). */
  onBegin?(records: number): void;
  onApplied(report: AppliedReport): void;
  /**
   * Runs after a batch is committed and before it is acknowledged: the crash test holds a batch
   * there to kill the process between the two.
   */
  afterApplied?(): Promise<void>;
}

/** A running consumer: `stop` ends the read loop after the batch in hand and reports. */
export interface BenchConsumer {
  stop(): Promise<ConsumerStats>;
}

const RECORDED_AT = '"recorded_at":"';

/** When the frame of `record` was answered (epoch ms), read without parsing the whole record. */
function answeredAt(record: string): number {
  const at = record.indexOf(RECORDED_AT) + RECORDED_AT.length;
  return Date.parse(record.slice(at, record.indexOf('"', at)));
}

/** Starts a consumer on `sql` (a pool of its own) with the service's read loop and batch work. */
export async function startBenchConsumer(
  config: ConsumerConfig,
  sql: Sql,
  hooks: ConsumerHooks,
): Promise<BenchConsumer> {
  const redis = createRedisClient({
    url: config.redisUrl,
    commandTimeoutMs: config.blockMs + 5000,
    connectionName: `aic-bench-metrics-${config.consumer}`,
  });
  await redis.connect();
  const cpuStart = process.cpuUsage();
  const stats: ConsumerStats = {
    batches: 0,
    records: 0,
    visibleMs: [],
    handleMs: 0,
    betweenMs: 0,
    cpuMs: 0,
    errors: 0,
  };
  let lastEnd = performance.now();
  const running = await startRedisStreamConsumer({
    ...config,
    redis,
    handle: async (records) => {
      const begun = performance.now();
      stats.betweenMs += begun - lastEnd;
      hooks.onBegin?.(records.length);
      const batch = await consumeFrameRecords(sql, records);
      const at = Date.now();
      lastEnd = performance.now();
      stats.handleMs += lastEnd - begun;
      stats.batches += 1;
      stats.records += records.length;
      for (const record of records) stats.visibleMs.push(at - answeredAt(record));
      hooks.onApplied({ stored: batch.stored, received: batch.received, at });
      await hooks.afterApplied?.();
    },
    onError: (error) => {
      stats.errors += 1;
      process.stderr.write(`[bench:metrics] consumer ${config.consumer}: ${String(error)}\n`);
    },
  });
  return {
    stop: async () => {
      await running.stop();
      redis.disconnect();
      const cpu = process.cpuUsage(cpuStart);
      stats.cpuMs = (cpu.user + cpu.system) / 1000;
      return stats;
    },
  };
}

/** What a consumer child sends its parent. */
export type ChildMessage =
  | { type: 'ready' }
  | { type: 'begin'; records: number }
  | { type: 'held' }
  | ({ type: 'applied' } & AppliedReport)
  | { type: 'stats'; stats: ConsumerStats };

/** What a parent sends a consumer child: stop, or hold the next batch committed unacknowledged. */
export type ParentMessage = { type: 'stop' } | { type: 'hold' };

/** How a child is set up: its consumer, and whether it reports each batch before applying it. */
export interface ChildConfig extends ConsumerConfig {
  reportBegin: boolean;
}
