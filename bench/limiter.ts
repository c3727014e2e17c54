/**
 * `npm run bench:limiter`: the cost of one rate-limit check (all three windows of a default user,
 * one Lua call through the circuit breaker) against rate-limiter-flexible's `RateLimiterRedis`
 * configured comparably (one limiter per window, combined with `RateLimiterUnion`) and a bare PING,
 * on the same Redis in the same run. Calls are sequential, as in a Lambda container, and the cases
 * are interleaved so drift on the machine hits them alike. Only keys under a private prefix are
 * written, and they are deleted at the end.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { RateLimiterRedis, RateLimiterUnion } from 'rate-limiter-flexible';
import { DEFAULT_USER_WINDOWS, type LimitPlan } from '../functions/core/rate-limit/policy.ts';
import {
  createGuardedRedis,
  type GuardedRedis,
} from '../functions/platform/redis/guarded-redis.ts';
import { checkRateLimit } from '../functions/platform/redis/rate-limit.ts';
import { deleteKeysWithPrefix } from '../test/support/redis-keys.ts';
import { count, ms, times } from './format.ts';
import { markdownTable, startRun, writeBenchmarkPage } from './report-page.ts';
import { summarise } from './stats.ts';

const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const WARMUP = 2_000;
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 20_000);
// Enough users that nobody reaches 60 a minute: every measured check is an admitted one.
const USERS = Math.ceil((WARMUP + ITERATIONS) / 30);
const PREFIX = `aic-bench-limiter-${process.pid}-${randomBytes(3).toString('hex')}:`;
const GOAL_P99_MS = 1.6;

type Case = { name: string; call: (user: string) => Promise<unknown>; samples: number[] };

/** The five cases, each on its own client of the same Redis. */
function createCases(guarded: GuardedRedis, plain: Redis): Case[] {
  const flexible = new RateLimiterUnion(
    ...DEFAULT_USER_WINDOWS.map(
      (w) =>
        new RateLimiterRedis({
          storeClient: plain,
          keyPrefix: `${PREFIX}rlf-${w.name}`,
          points: w.limit,
          duration: w.seconds,
        }),
    ),
  );
  const flexibleOne = new RateLimiterRedis({
    storeClient: plain,
    keyPrefix: `${PREFIX}rlf-one`,
    points: 60,
    duration: 60,
  });
  const plan = (user: string): LimitPlan => ({
    identity: { kind: 'user', value: user },
    scope: '*',
    windows: DEFAULT_USER_WINDOWS,
  });
  const check = async (user: string) => {
    const result = await checkRateLimit(guarded, plan(user));
    if (!result.ok || !result.value.allowed) {
      throw new Error(`unexpected ${JSON.stringify(result)}`);
    }
  };
  const guardedPing = async () => {
    if (!(await guarded.run((redis) => redis.ping())).ok) throw new Error('PING failed');
  };
  return [
    { name: 'AIC limiter: 3 windows, one Lua call, through the breaker', call: check, samples: [] },
    {
      name: 'rate-limiter-flexible: 3 x `RateLimiterRedis` (union)',
      call: (user) => flexible.consume(user),
      samples: [],
    },
    {
      name: 'rate-limiter-flexible: 1 x `RateLimiterRedis`',
      call: (user) => flexibleOne.consume(user),
      samples: [],
    },
    { name: 'bare `PING` (ioredis)', call: () => plain.ping(), samples: [] },
    { name: '`PING` through the breaker (`GuardedRedis`)', call: guardedPing, samples: [] },
  ];
}

/** Every case once per iteration, in a rotating order; samples after the warm-up are kept. */
async function measureCases(cases: Case[]): Promise<void> {
  for (let i = 0; i < WARMUP + ITERATIONS; i++) {
    const user = `user-${i % USERS}`;
    // Rotate the order so no case always runs right after another.
    for (let j = 0; j < cases.length; j++) {
      const c = cases[(i + j) % cases.length] as Case;
      const started = performance.now();
      await c.call(user);
      const took = performance.now() - started;
      if (i >= WARMUP) c.samples.push(took);
    }
  }
}

async function redisVersion(redis: Redis): Promise<string> {
  const info = await redis.info('server');
  return `Redis ${/redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown'} at ${REDIS_URL}`;
}

/** Runs the benchmark and writes docs/benchmarks/limiter.md; returns the p99s in ms. */
export async function runLimiterBenchmark(): Promise<{ ours: number; flexible: number }> {
  const run = startRun();
  const guarded = createGuardedRedis({ url: REDIS_URL, keyPrefix: PREFIX });
  const plain = new Redis(REDIS_URL);
  const cases = createCases(guarded, plain);
  let redis: string;
  try {
    redis = await redisVersion(plain);
    await measureCases(cases);
  } finally {
    await deleteKeysWithPrefix(PREFIX, REDIS_URL);
    await guarded.close();
    await plain.quit();
  }
  const [ours, union, , ping] = cases.map((c) => summarise(c.samples));
  if (!ours || !union || !ping) throw new Error('no samples');
  const goals = [
    {
      goal: "p99 of one check against rate-limiter-flexible's (3 windows)",
      measured: `${ms(ours.p99)} against ${ms(union.p99)}: ${times(ours.p99 / union.p99)}`,
      target: '<= 1x',
      met: ours.p99 <= union.p99,
    },
    {
      goal: 'p99 of one check',
      measured: ms(ours.p99),
      target: `<= ${GOAL_P99_MS} ms`,
      met: ours.p99 <= GOAL_P99_MS,
    },
  ];
  await writeBenchmarkPage(run, {
    name: 'limiter',
    title: 'Rate limiter',
    source: 'bench/limiter.ts',
    measures:
      'What one rate-limit check costs: all three windows of a default user (minute, hour, day) in one Lua call through the circuit breaker, against rate-limiter-flexible configured comparably and a bare `PING`, on the same Redis.',
    machine: [redis],
    goals,
    baseline: `rate-limiter-flexible, one \`RateLimiterRedis\` per window combined with \`RateLimiterUnion\`, and a bare \`PING\`, in the same run on the same Redis. The AIC check's p99 is ${times(ours.p99 / union.p99)} rate-limiter-flexible's, and its p50 ${times(ours.p50 / ping.p50)} a bare \`PING\`'s.`,
    results: [
      {
        heading: `Latency per call (${count(ITERATIONS)} sequential calls per case after ${count(WARMUP)} warm-up)`,
        body: markdownTable(
          ['case', 'p50', 'p95', 'p99'],
          cases.map((c) => {
            const s = summarise(c.samples);
            return [c.name, ms(s.p50), ms(s.p95), ms(s.p99)];
          }),
        ),
      },
    ],
    method: `Calls are sequential, as in a Lambda container. Each iteration runs every case once, in an order that rotates, so that drift on the machine falls on all of them alike. ${count(USERS)} users take turns, so that nobody reaches 60 a minute and every measured check is an admitted one. The AIC check is a sliding window over 20 sub-buckets per window that spends no quota on a rejection; rate-limiter-flexible's is a fixed window per limiter. Only keys under a private prefix are written, and they are deleted at the end.`,
  });
  return { ours: ours.p99, flexible: union.p99 };
}

if (import.meta.url === `file://${process.argv[1]}`) await runLimiterBenchmark();
