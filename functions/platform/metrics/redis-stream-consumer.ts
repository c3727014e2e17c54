/**
 * The consumer side of the Redis frame-event stream (the local stand-in for the Kinesis event
 * source mapping, docs/design.md section 5.8): a consumer group reads batches, hands each to
 * `handle`, and acknowledges (and deletes) its entries only after `handle` resolved, so a consumer
 * killed mid-batch leaves the batch pending, and it is read again on restart (its own pending
 * entries first) or claimed by another consumer once idle for `claimIdleMs`. `handle` must count
 * a repeated batch once (the frame statement does, by event id).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { EVENT_FIELD } from './redis-stream-frame-log.ts';

/** Options of {@link startRedisStreamConsumer}. */
export interface RedisStreamConsumerOptions {
  /** A connection of its own: a blocking read holds it. */
  redis: Redis;
  /** The stream's full key (the key prefix included: this connection adds none). */
  stream: string;
  group: string;
  /** This consumer's name in the group; a restarted consumer of the same name resumes its batch. */
  consumer: string;
  batchSize: number;
  /** How long one read waits for new entries (ms). */
  blockMs: number;
  /** Entries pending this long on another consumer are taken over (ms). */
  claimIdleMs: number;
  /** Applies the events of one batch (their JSON); a rejection leaves the batch pending. */
  handle(records: readonly string[]): Promise<void>;
  /** Told the first failure of a run of failures (the loop retries with backoff). */
  onError(error: unknown): void;
}

/** A running consumer. */
export interface RedisStreamConsumer {
  /**
   * Resolves once every entry appended before the call has been handled and acknowledged (polls
   * the group's state every 10 ms).
   */
  settled(timeoutMs?: number): Promise<void>;
  /** Stops after the batch in hand (it is acknowledged if it was handled). */
  stop(): Promise<void>;
}

/** `fields` is null for a pending entry since deleted from the stream (XDEL, XTRIM). */
type Entry = [id: string, fields: string[] | null];

/**
 * Starts the read loop; the group is created (with the stream) when missing, first and after any
 * failure, so a consumer started while Redis is down begins once it is back.
 */
export async function startRedisStreamConsumer(
  options: RedisStreamConsumerOptions,
): Promise<RedisStreamConsumer> {
  const { redis } = options;
  const state = { stopped: false };
  const loop = readLoop(options, state);
  return {
    settled: (timeoutMs = 10_000) => waitSettled(redis.duplicate(), options, timeoutMs),
    stop: async () => {
      state.stopped = true;
      // A blocking read returns within blockMs; the loop then sees `stopped`.
      await loop;
    },
  };
}

async function readLoop(
  options: RedisStreamConsumerOptions,
  state: { stopped: boolean },
): Promise<void> {
  // Own pending entries first: a batch this consumer read but never acknowledged.
  let backlog = true;
  let lastClaim = 0;
  let failures = 0;
  let grouped = false;
  while (!state.stopped) {
    try {
      if (!grouped) grouped = await ensureGroup(options);
      if (!backlog && Date.now() - lastClaim > options.claimIdleMs / 2) {
        lastClaim = Date.now();
        backlog = await claimIdle(options);
      }
      const entries = await readBatch(options, backlog ? '0' : '>');
      if (backlog && entries.length === 0) backlog = false;
      if (entries.length > 0) await handleBatch(options, entries);
      failures = 0;
    } catch (error) {
      if (state.stopped) return;
      // Once per outage: while Redis is down every retry fails the same way.
      if (failures === 0) options.onError(error);
      backlog = true;
      grouped = false;
      failures += 1;
      await sleep(Math.min(5000, 100 * 2 ** Math.min(failures, 6)));
    }
  }
}

/** Creates the group (and the stream) unless it exists; true once it does. */
async function ensureGroup(options: RedisStreamConsumerOptions): Promise<true> {
  await options.redis
    .xgroup('CREATE', options.stream, options.group, '0', 'MKSTREAM')
    .catch((error: unknown) => {
      if (!String(error).includes('BUSYGROUP')) throw error;
    });
  return true;
}

async function readBatch(options: RedisStreamConsumerOptions, from: '0' | '>'): Promise<Entry[]> {
  const { redis, group, consumer, batchSize, blockMs, stream } = options;
  const reply = (await (from === '>'
    ? redis.xreadgroup(
        'GROUP',
        group,
        consumer,
        'COUNT',
        batchSize,
        'BLOCK',
        blockMs,
        'STREAMS',
        stream,
        from,
      )
    : redis.xreadgroup('GROUP', group, consumer, 'COUNT', batchSize, 'STREAMS', stream, from))) as
    | [string, Entry[]][]
    | null;
  return reply?.[0]?.[1] ?? [];
}

async function handleBatch(options: RedisStreamConsumerOptions, entries: Entry[]): Promise<void> {
  const records = entries.map(([, fields]) => fieldValue(fields ?? [], EVENT_FIELD) ?? '');
  await options.handle(records);
  const ids = entries.map(([id]) => id);
  await options.redis
    .multi()
    .xack(options.stream, options.group, ...ids)
    .xdel(options.stream, ...ids)
    .exec();
}

/** Takes over entries idle on other consumers; true when it took any. */
async function claimIdle(options: RedisStreamConsumerOptions): Promise<boolean> {
  const { redis, stream, group, consumer, claimIdleMs, batchSize } = options;
  const reply = (await redis.xautoclaim(
    stream,
    group,
    consumer,
    claimIdleMs,
    '0-0',
    'COUNT',
    batchSize,
    'JUSTID',
  )) as [string, string[]];
  return reply[1].length > 0;
}

function fieldValue(fields: readonly string[], name: string): string | undefined {
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

async function waitSettled(
  redis: Redis,
  options: RedisStreamConsumerOptions,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  try {
    await redis.connect();
    const target = await lastGeneratedId(redis, options.stream);
    while (!(await groupReached(redis, options, target))) {
      if (Date.now() > deadline)
        throw new Error(`the metrics consumer did not catch up in ${timeoutMs} ms`);
      await sleep(10);
    }
  } finally {
    redis.disconnect();
  }
}

async function lastGeneratedId(redis: Redis, stream: string): Promise<string> {
  const info = (await redis.xinfo('STREAM', stream)) as unknown[];
  return String(info[info.indexOf('last-generated-id') + 1]);
}

async function groupReached(
  redis: Redis,
  options: RedisStreamConsumerOptions,
  target: string,
): Promise<boolean> {
  const groups = (await redis.xinfo('GROUPS', options.stream)) as unknown[][];
  for (const group of groups) {
    const field = (name: string) => group[group.indexOf(name) + 1];
    if (field('name') !== options.group) continue;
    return Number(field('pending')) === 0 && !idBefore(String(field('last-delivered-id')), target);
  }
  return false;
}

/** Whether stream id `a` comes before `b`. */
function idBefore(a: string, b: string): boolean {
  const [am = 0, as = 0] = a.split('-').map(Number);
  const [bm = 0, bs = 0] = b.split('-').map(Number);
  return am < bm || (am === bm && as < bs);
}
