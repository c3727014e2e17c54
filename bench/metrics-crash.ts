/**
 * The crash test of bench/metrics.ts: one tenant's streams are answered through the Redis stream
 * while its consumer, a child process, is killed with SIGKILL as it takes a batch in hand; a new
 * consumer of the same name resumes (its pending entries first); that one is killed the same way,
 * and a consumer of another name takes the dead one's pending entries over once they are idle for
 * `claimIdleMs`. At the end every frame answered must be counted exactly once.
 */

import { setTimeout as sleep } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import { batching } from '../functions/platform/metrics/batching-frame-log.ts';
import { createRedisStreamFrameLog } from '../functions/platform/metrics/redis-stream-frame-log.ts';
import { createGuardedRedis } from '../functions/platform/redis/guarded-redis.ts';
import { count } from './format.ts';
import { AppliedTally, type RunningConsumer, spawnConsumer } from './metrics-consumers.ts';
import { answeredFrames, type BenchDatabase, createShape, REDIS_URL } from './metrics-fixture.ts';
import {
  CONSUMER_BATCH,
  LINGER_MS,
  MAX_EVENTS,
  newProducerStats,
  PRODUCER_TIMEOUT_MS,
  produce,
} from './metrics-stream.ts';
import { type Check, verifyShape } from './metrics-verify.ts';

const GROUP = 'metrics-consumer';
const CLAIM_IDLE_MS = 1000;
/** The load: 200 streams at 20 frames a second for 8 s. */
const PRODUCERS = 200;
const FPS = 20;
const SECONDS = 8;

/** What the crash test did and found. */
export interface CrashResult {
  pass: boolean;
  frames: number;
  /** What happened, in order, one sentence each. */
  story: string[];
  checks: Check[];
}

/** A consumer child that can be killed at the start of its next batch. */
class KillableConsumer {
  #arm: (() => void) | undefined;
  consumer: RunningConsumer | undefined;
  /** Records of the first batch it took in hand, and of the last. */
  firstBatch: number | undefined;
  lastBatch: number | undefined;

  static async start(name: string, db: BenchDatabase, stream: string, tally: AppliedTally) {
    const killable = new KillableConsumer();
    const config = {
      ...{ redisUrl: REDIS_URL, databaseUrl: db.url, stream, group: GROUP, consumer: name },
      ...{ batchSize: CONSUMER_BATCH, blockMs: 200, claimIdleMs: CLAIM_IDLE_MS, reportBegin: true },
    };
    killable.consumer = await spawnConsumer(config, tally, (records) => {
      killable.firstBatch ??= records;
      killable.lastBatch = records;
      const arm = killable.#arm;
      killable.#arm = undefined;
      arm?.();
    });
    return killable;
  }

  /** Kills the process with SIGKILL as soon as it reports a batch taken in hand. */
  killInFlight(): Promise<void> {
    return new Promise((resolve) => {
      this.#arm = () => void this.consumer?.kill().then(resolve);
    });
  }

  /** Kills the process with SIGKILL once its next batch is committed and not yet acknowledged. */
  async killAfterCommit(): Promise<void> {
    await this.consumer?.holdAfterCommit();
    await this.consumer?.kill();
  }
}

/** Entries the group has delivered to `consumer` and not had acknowledged. */
async function pendingOf(redis: Redis, stream: string, consumer: string): Promise<number> {
  const [, , , consumers] = (await redis.xpending(stream, GROUP)) as [
    number,
    string | null,
    string | null,
    [string, string][] | null,
  ];
  return Number(consumers?.find(([name]) => name === consumer)?.[1] ?? 0);
}

/** Waits until the group has delivered and had acknowledged every entry of the stream. */
async function drained(redis: Redis, stream: string, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const groups = (await redis.xinfo('GROUPS', stream)) as unknown[][];
    const group = groups.find((g) => g[g.indexOf('name') + 1] === GROUP) ?? [];
    const field = (name: string) => group[group.indexOf(name) + 1];
    if (Number(field('pending')) === 0 && Number(field('lag')) === 0) return;
    if (performance.now() > deadline) throw new Error('the crash test did not drain');
    await sleep(20);
  }
}

async function waitBatches(tally: AppliedTally, batches: number): Promise<void> {
  while (tally.batches < batches) await sleep(5);
}

/** Answers the crash test's frames while its consumers are killed and replaced; then checks. */
export async function crashTest(
  db: BenchDatabase,
  prefix: string,
  admin: Redis,
): Promise<CrashResult> {
  const sql = db.pool(2);
  const shape = await createShape(sql, 'crash', 'crash test', 1, 50);
  const stream = `${prefix}crash`;
  const tally = new AppliedTally();
  const story: string[] = [];
  const redis = createGuardedRedis({
    url: REDIS_URL,
    keyPrefix: prefix,
    commandTimeoutMs: PRODUCER_TIMEOUT_MS,
  });
  const log = batching(createRedisStreamFrameLog({ redis, stream: 'crash' }), {
    lingerMs: LINGER_MS,
    maxEvents: MAX_EVENTS,
  });
  let last: KillableConsumer | undefined;
  try {
    const first = await KillableConsumer.start('crash-a', db, stream, tally);
    const load = { shape, producers: PRODUCERS, seconds: SECONDS, fps: FPS };
    const producing = produce(log, load, newProducerStats());
    await waitBatches(tally, 5);
    await first.killInFlight();
    const leftByFirst = await pendingOf(admin, stream, 'crash-a');
    story.push(
      `SIGKILL to consumer crash-a as it took its batch ${tally.batches + 1} (${count(first.lastBatch ?? 0)} records) in hand: ${count(leftByFirst)} entries left pending on it.`,
    );
    const second = await KillableConsumer.start('crash-a', db, stream, tally);
    const resumedAt = tally.batches;
    await waitBatches(tally, resumedAt + 5);
    await second.killAfterCommit();
    const leftBySecond = await pendingOf(admin, stream, 'crash-a');
    story.push(
      `A new crash-a read its pending entries first (its first batch: ${count(second.firstBatch ?? 0)} records), applied ${tally.batches - resumedAt} batches, and was killed with SIGKILL after committing a batch and before acknowledging it: ${count(leftBySecond)} entries left pending on crash-a, the last batch of them already counted.`,
    );
    last = await KillableConsumer.start('crash-b', db, stream, tally);
    const frames = await producing;
    await drained(admin, stream, 60_000);
    story.push(
      `Consumer crash-b (claimIdleMs ${CLAIM_IDLE_MS}) took them over: ${count(await pendingOf(admin, stream, 'crash-a'))} entries pending on crash-a now, none in the group, every entry delivered and acknowledged.`,
      `${count(frames)} frames answered (${PRODUCERS} streams at ${FPS} frames/s for ${SECONDS} s); the consumers applied ${count(tally.received)} records in ${count(tally.batches)} batches, ${count(tally.received - tally.stored)} of them delivered again and counted once.`,
    );
    await last.consumer?.stop();
    last = undefined;
    const checks = await verifyShape(sql, shape, 1);
    const pass = checks.every((c) => c.pass) && answeredFrames(shape) === frames;
    return { pass, frames, story, checks };
  } finally {
    await log.close();
    await redis.close();
    await last?.consumer?.kill();
  }
}
