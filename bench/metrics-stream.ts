/**
 * The stream path of bench/metrics.ts: producers append frame events one at a time, each awaiting
 * its append (the frame's acknowledgement), through the batcher over the Redis stream log the
 * service builds, while consumers read the stream and apply batches with the service's consumer;
 * measured end to end, from the first append to the commit of the batch holding the last frame.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { FrameEvent } from '../functions/core/contracts/frame-event.ts';
import { batching } from '../functions/platform/metrics/batching-frame-log.ts';
import type { FrameEventLog } from '../functions/platform/metrics/frame-event-log.ts';
import { createRedisStreamFrameLog } from '../functions/platform/metrics/redis-stream-frame-log.ts';
import { createGuardedRedis } from '../functions/platform/redis/guarded-redis.ts';
import type { Throughput } from './metrics-baseline.ts';
import type { ConsumerStats } from './metrics-consume.ts';
import {
  AppliedTally,
  type ConsumerPlacement,
  inlineConsumer,
  type RunningConsumer,
  spawnConsumer,
} from './metrics-consumers.ts';
import { type ServerCpu, type ServerProcesses, serverCpuSince } from './metrics-cpu.ts';
import {
  type BenchDatabase,
  markAnswered,
  nextFrameEvent,
  REDIS_URL,
  type Shape,
} from './metrics-fixture.ts';
import { summarise } from './stats.ts';

/** The batcher's settings under test (the gRPC task's). */
export const LINGER_MS = 5;
export const MAX_EVENTS = 500;
/** The consumer's batch, and its read's wait: the local consumer's. */
export const CONSUMER_BATCH = 500;
const BLOCK_MS = 200;
/** The group of the service's local consumer. */
const GROUP = 'metrics-consumer';
/**
 * The producers' Redis deadline: far above the service's 50 ms (REDIS_COMMAND_TIMEOUT_MS), so a
 * slow append is measured rather than failed over; the page counts the acks slower than 50 ms.
 */
export const PRODUCER_TIMEOUT_MS = 2000;

/** The settings of a stream run that its results report. */
export interface StreamSettings {
  placement: ConsumerPlacement;
  consumers: number;
  producers: number;
  /** Producers append for this long, then the run waits for the consumers to catch up. */
  seconds: number;
  /**
   * Frames a second each producer sends (a video stream's rate), or undefined: the next frame as
   * soon as the last one is acknowledged (the most the path takes).
   */
  fps: number | undefined;
}

/** How one stream run is set up. */
export interface StreamOptions extends StreamSettings {
  shape: Shape;
  db: BenchDatabase;
  prefix: string;
  servers: ServerProcesses;
}

/** The producers' side of a run. */
export interface ProducerStats {
  /** ms from each append to its acknowledgement. */
  ackMs: number[];
  /** Appends that failed and were sent again (same event: counted once). */
  retries: number;
  /** Appends of the log under the batcher (pipelines of XADD), and their ms. */
  pipelines: number;
  pipelineMs: number;
  /** CPU ms of the benchmark's process during the run. */
  cpuMs: number;
}

/** What a stream run came to. */
export interface StreamResult extends Throughput {
  settings: StreamSettings;
  producer: ProducerStats;
  consumers: ConsumerStats[];
  servers: ServerCpu;
  ack: ReturnType<typeof summarise>;
  visible: ReturnType<typeof summarise>;
}

/** Producer statistics before a run. */
export function newProducerStats(): ProducerStats {
  return { ackMs: [], retries: 0, pipelines: 0, pipelineMs: 0, cpuMs: 0 };
}

/** A log that counts and times each append of `inner` (one XADD pipeline). */
export function timed(inner: FrameEventLog, stats: ProducerStats): FrameEventLog {
  return {
    ...inner,
    async append(events) {
      const begun = performance.now();
      try {
        await inner.append(events);
      } finally {
        stats.pipelines += 1;
        stats.pipelineMs += performance.now() - begun;
      }
    },
  };
}

/** Appends `event` until the log acknowledges it (a retry carries the same event id). */
async function appendUntilAcknowledged(
  log: FrameEventLog,
  event: FrameEvent,
  stats: ProducerStats,
): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await log.append([event]);
    } catch (error) {
      if (attempt >= 20) throw error;
      stats.retries += 1;
      await sleep(10);
    }
  }
}

/**
 * Runs `producers` concurrent producers for `seconds`, round robin over the shape's sessions; at
 * `fps` each, their first frames spread over the first interval, or unpaced.
 */
export async function produce(
  log: FrameEventLog,
  options: Pick<StreamOptions, 'shape' | 'producers' | 'seconds' | 'fps'>,
  stats: ProducerStats,
): Promise<number> {
  const { sessions } = options.shape;
  const started = performance.now();
  const deadline = started + options.seconds * 1000;
  const intervalMs = options.fps === undefined ? 0 : 1000 / options.fps;
  let answered = 0;
  const producer = async (first: number) => {
    let due = started + (intervalMs * first) / options.producers;
    for (let k = first; performance.now() < deadline; k += options.producers) {
      const session = sessions[k % sessions.length];
      if (!session) return;
      if (intervalMs > 0) {
        await sleep(Math.max(0, due - performance.now()));
        due += intervalMs;
      }
      const event = nextFrameEvent(session);
      const begun = performance.now();
      await appendUntilAcknowledged(log, event, stats);
      stats.ackMs.push(performance.now() - begun);
      markAnswered(session, event);
      answered += 1;
    }
  };
  await Promise.all(Array.from({ length: options.producers }, (_, p) => producer(p)));
  return answered;
}

async function startConsumers(options: StreamOptions, stream: string, tally: AppliedTally) {
  const consumers: RunningConsumer[] = [];
  for (let i = 0; i < options.consumers; i++) {
    const config = {
      redisUrl: REDIS_URL,
      databaseUrl: options.db.url,
      stream,
      group: GROUP,
      consumer: `bench-${i}`,
      batchSize: CONSUMER_BATCH,
      blockMs: BLOCK_MS,
      claimIdleMs: 30_000,
    };
    consumers.push(
      options.placement === 'child'
        ? await spawnConsumer({ ...config, reportBegin: false }, tally)
        : await inlineConsumer(config, options.db.pool, tally),
    );
  }
  return consumers;
}

/** One run of the stream path on a stream of its own. */
export async function measureStream(options: StreamOptions): Promise<StreamResult> {
  const streamKey = `frames:${options.shape.key}:${options.placement}:${options.consumers}`;
  const tally = new AppliedTally();
  const consumers = await startConsumers(options, `${options.prefix}${streamKey}`, tally);
  const redis = createGuardedRedis({
    url: REDIS_URL,
    keyPrefix: options.prefix,
    commandTimeoutMs: PRODUCER_TIMEOUT_MS,
  });
  const producer = newProducerStats();
  const inner = timed(createRedisStreamFrameLog({ redis, stream: streamKey }), producer);
  const log = batching(inner, { lingerMs: LINGER_MS, maxEvents: MAX_EVENTS });
  try {
    await redis.run((client) => client.ping());
    const serverCpu = await serverCpuSince(options.servers);
    const cpuStart = process.cpuUsage();
    const firstAppend = Date.now();
    const answered = await produce(log, options, producer);
    const lastCommit = await tally.until(answered, 120_000);
    const servers = await serverCpu();
    const cpu = process.cpuUsage(cpuStart);
    producer.cpuMs = (cpu.user + cpu.system) / 1000;
    const stats = await Promise.all(consumers.splice(0).map((c) => c.stop()));
    const seconds = (lastCommit - firstAppend) / 1000;
    return {
      frames: answered,
      seconds,
      framesPerS: answered / seconds,
      settings: {
        placement: options.placement,
        consumers: options.consumers,
        producers: options.producers,
        seconds: options.seconds,
        fps: options.fps,
      },
      producer,
      consumers: stats,
      servers,
      ack: summarise(producer.ackMs),
      visible: summarise(stats.flatMap((s) => s.visibleMs)),
    };
  } finally {
    await log.close();
    await redis.close();
    // A failed run's consumers: a child is killed, an inline one stopped.
    await Promise.allSettled(consumers.map((c) => c.kill().catch(() => c.stop())));
  }
}
