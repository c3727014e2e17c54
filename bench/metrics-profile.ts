/**
 * The profile of bench/metrics.ts: each stage of the stream path alone, so the end-to-end figure
 * can be read against what each stage takes and allows on this machine.
 *
 * - the producers alone (no consumer): the batcher over XADD pipelines;
 * - the consumer's read alone, on what the producers left: XREADGROUP, JSON.parse, the zod check,
 *   the statement's JSON parameter, XACK + XDEL, each timed per frame;
 * - the statement alone: `applyFrameEvents` on pre-built batches of 500, one and two at a time
 *   (the consumer's ceiling on this database).
 */
import { frameEventSchema } from '../functions/core/contracts/frame-event.ts';
import type { Sql } from '../functions/platform/db/database.ts';
import { applyFrameEvents } from '../functions/platform/db/frame-metrics-repository.ts';
import { batching } from '../functions/platform/metrics/batching-frame-log.ts';
import { createRedisStreamFrameLog } from '../functions/platform/metrics/redis-stream-frame-log.ts';
import { createRedisClient } from '../functions/platform/redis/client.ts';
import { createGuardedRedis } from '../functions/platform/redis/guarded-redis.ts';
import { type ServerProcesses, serverCpuSince } from './metrics-cpu.ts';
import { markAnswered, nextFrameEvent, REDIS_URL, type Shape } from './metrics-fixture.ts';
import {
  CONSUMER_BATCH,
  LINGER_MS,
  MAX_EVENTS,
  newProducerStats,
  PRODUCER_TIMEOUT_MS,
  produce,
  timed,
} from './metrics-stream.ts';
import { summarise } from './stats.ts';

/** The producers alone. */
export interface ProducerCeiling {
  frames: number;
  framesPerS: number;
  /** Mean events per XADD pipeline, and its mean ms. */
  meanBatch: number;
  meanPipelineMs: number;
  ack: ReturnType<typeof summarise>;
  /** CPU µs per frame of the producing process and of the Redis server. */
  cpuUs: number;
  redisUs: number;
  /** µs of the JSON.stringify of one event (the record's bytes). */
  stringifyUs: number;
  /** The stream the run filled (full key), for {@link measureReadCeiling}. */
  stream: string;
}

/** µs per event of `JSON.stringify`, over 5,000 events like the shape's (not appended). */
function stringifyCost(shape: Shape): number {
  const events = shape.sessions
    .slice(0, 1)
    .flatMap((session) => Array.from({ length: 5000 }, () => nextFrameEvent({ ...session })));
  const begun = performance.now();
  let bytes = 0;
  for (const event of events) bytes += JSON.stringify(event).length;
  return bytes > 0 ? ((performance.now() - begun) * 1000) / events.length : Number.NaN;
}

/**
 * Producers append for `seconds` with nobody consuming; the stream keeps what they appended. They
 * send copies of the shape's sessions: these frames never reach the tables, so they are not
 * counted as answered.
 */
export async function measureProducerCeiling(
  shape: Shape,
  prefix: string,
  producers: number,
  seconds: number,
  servers: ServerProcesses,
): Promise<ProducerCeiling> {
  const streamKey = `profile:${shape.key}`;
  const redis = createGuardedRedis({
    url: REDIS_URL,
    keyPrefix: prefix,
    commandTimeoutMs: PRODUCER_TIMEOUT_MS,
  });
  const stats = newProducerStats();
  const inner = timed(createRedisStreamFrameLog({ redis, stream: streamKey }), stats);
  const log = batching(inner, { lingerMs: LINGER_MS, maxEvents: MAX_EVENTS });
  try {
    await redis.run((client) => client.ping());
    const serverCpu = await serverCpuSince(servers);
    const cpuStart = process.cpuUsage();
    const begun = performance.now();
    const copy = { ...shape, sessions: shape.sessions.map((s) => ({ ...s })) };
    const frames = await produce(log, { shape: copy, producers, seconds, fps: undefined }, stats);
    const elapsedS = (performance.now() - begun) / 1000;
    const cpu = process.cpuUsage(cpuStart);
    const { redisMs } = await serverCpu();
    return {
      frames,
      framesPerS: frames / elapsedS,
      meanBatch: frames / stats.pipelines,
      meanPipelineMs: stats.pipelineMs / stats.pipelines,
      ack: summarise(stats.ackMs),
      cpuUs: (cpu.user + cpu.system) / frames,
      redisUs: (redisMs * 1000) / frames,
      stringifyUs: stringifyCost(shape),
      stream: `${prefix}${streamKey}`,
    };
  } finally {
    await log.close();
    await redis.close();
  }
}

/** The consumer's work outside Postgres, per frame (µs), and the rate it alone allows. */
export interface ReadCeiling {
  frames: number;
  framesPerS: number;
  readUs: number;
  parseUs: number;
  zodUs: number;
  paramUs: number;
  ackUs: number;
}

type Entry = [id: string, fields: string[]];

/** Reads the whole of `stream` in batches of 500 as the consumer does, without the statement. */
export async function measureReadCeiling(stream: string): Promise<ReadCeiling> {
  const redis = createRedisClient({ url: REDIS_URL, commandTimeoutMs: 10_000 });
  await redis.connect();
  const t = { read: 0, parse: 0, zod: 0, param: 0, ack: 0 };
  let frames = 0;
  try {
    await redis.xgroup('CREATE', stream, 'profile', '0');
    for (;;) {
      let mark = performance.now();
      const lap = (stage: keyof typeof t) => {
        const now = performance.now();
        t[stage] += now - mark;
        mark = now;
      };
      const reply = (await redis.xreadgroup(
        'GROUP',
        'profile',
        'reader',
        'COUNT',
        CONSUMER_BATCH,
        'STREAMS',
        stream,
        '>',
      )) as [string, Entry[]][] | null;
      const entries = reply?.[0]?.[1] ?? [];
      if (entries.length === 0) break;
      lap('read');
      const values = entries.map(([, fields]) => JSON.parse(fields[1] ?? '') as unknown);
      lap('parse');
      const events = values.map((value) => frameEventSchema.parse(value));
      lap('zod');
      JSON.stringify(events);
      lap('param');
      const ids = entries.map(([id]) => id);
      await redis
        .multi()
        .xack(stream, 'profile', ...ids)
        .xdel(stream, ...ids)
        .exec();
      lap('ack');
      frames += entries.length;
    }
  } finally {
    redis.disconnect();
  }
  const total = t.read + t.parse + t.zod + t.param + t.ack;
  const us = (ms: number) => (ms * 1000) / frames;
  return {
    frames,
    framesPerS: (frames * 1000) / total,
    readUs: us(t.read),
    parseUs: us(t.parse),
    zodUs: us(t.zod),
    paramUs: us(t.param),
    ackUs: us(t.ack),
  };
}

/** The statement alone on pre-built batches. */
export interface StatementFloor {
  shape: string;
  batchSize: number;
  concurrency: number;
  frames: number;
  framesPerS: number;
  batch: ReturnType<typeof summarise>;
  /** CPU µs per frame of the Postgres client backends, and of autovacuum meanwhile. */
  postgresUs: number;
  autovacuumUs: number;
}

/** How a statement floor is measured. */
export interface FloorOptions {
  batchSize: number;
  concurrency: number;
  frames: number;
}

/**
 * Applies `frames` of the shape's frames (round robin over its sessions, as the producers send
 * them) in pre-built batches of `batchSize`, `concurrency` statements at a time on `sql`.
 */
export async function measureStatementFloor(
  sql: Sql,
  shape: Shape,
  options: FloorOptions,
  servers: ServerProcesses,
): Promise<StatementFloor> {
  const { batchSize, concurrency } = options;
  const { sessions } = shape;
  // Answered 10 a millisecond, as in a stream run (identical timestamps would load the indexes
  // on recorded_at with duplicates no real stream has).
  const answeredFrom = Date.now();
  const batches = Array.from({ length: Math.ceil(options.frames / batchSize) }, (_, b) =>
    Array.from({ length: batchSize }, (_, i) => {
      const k = b * batchSize + i;
      const session = sessions[k % sessions.length] as (typeof sessions)[number];
      return { session, event: nextFrameEvent(session, new Date(answeredFrom + k / 10)) };
    }),
  );
  await sql`select 1`;
  const serverCpu = await serverCpuSince(servers);
  const latencies: number[] = [];
  let next = 0;
  const begun = performance.now();
  const worker = async () => {
    for (let batch = batches[next++]; batch; batch = batches[next++]) {
      const started = performance.now();
      await applyFrameEvents(
        sql,
        batch.map((b) => b.event),
      );
      latencies.push(performance.now() - started);
      for (const { session, event } of batch) markAnswered(session, event);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsedS = (performance.now() - begun) / 1000;
  const { postgresMs, autovacuumMs } = await serverCpu();
  const applied = batches.length * batchSize;
  return {
    shape: shape.label,
    batchSize,
    concurrency,
    frames: applied,
    framesPerS: applied / elapsedS,
    batch: summarise(latencies),
    postgresUs: (postgresMs * 1000) / applied,
    autovacuumUs: (autovacuumMs * 1000) / applied,
  };
}
