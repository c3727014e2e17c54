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
import { createGuardedRedis } from '../functions/platform/redis/guarded-redis.ts';
import { checkRateLimit } from '../functions/platform/redis/rate-limit.ts';
import { ms, summarise } from './stats.ts';

const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const WARMUP = 2_000;
const ITERATIONS = Number(process.env.BENCH_ITERATIONS ?? 20_000);
// Enough users that nobody reaches 60 a minute: every measured check is an admitted one.
const USERS = Math.ceil((WARMUP + ITERATIONS) / 30);
const PREFIX = `aic-bench-limiter-${process.pid}-${randomBytes(3).toString('hex')}:`;
const GOAL_P99_MS = 1.6;

type Case = { name: string; call: (user: string) => Promise<unknown>; samples: number[] };

async function deleteKeys(redis: Redis): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 1000);
    if (keys.length > 0) deleted += await redis.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  return deleted;
}

/** Runs the benchmark and prints its table; returns the p99s in ms. */
export async function runLimiterBenchmark(): Promise<{ ours: number; flexible: number }> {
  const guarded = createGuardedRedis({ url: REDIS_URL, keyPrefix: PREFIX });
  const plain = new Redis(REDIS_URL);
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
  const cases: Case[] = [
    {
      name: 'AIC limiter: 3 windows, one Lua call, via breaker',
      call: async (user) => {
        const result = await checkRateLimit(guarded, plan(user));
        if (!result.ok || !result.value.allowed)
          throw new Error(`unexpected ${JSON.stringify(result)}`);
      },
      samples: [],
    },
    {
      name: 'rate-limiter-flexible: 3 x RateLimiterRedis (Union)',
      call: (user) => flexible.consume(user),
      samples: [],
    },
    {
      name: 'rate-limiter-flexible: 1 x RateLimiterRedis',
      call: (user) => flexibleOne.consume(user),
      samples: [],
    },
    { name: 'bare PING (ioredis)', call: () => plain.ping(), samples: [] },
    {
      name: 'PING via GuardedRedis',
      call: async () => {
        if (!(await guarded.run((redis) => redis.ping())).ok) throw new Error('PING failed');
      },
      samples: [],
    },
  ];

  try {
    await plain.ping();
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
  } finally {
    const deleted = await deleteKeys(plain);
    console.log(`(deleted ${deleted} benchmark keys under ${PREFIX})`);
    await guarded.close();
    await plain.quit();
  }

  const [ours, union, one, ping] = cases.map((c) => summarise(c.samples));
  console.log(
    `\nRate-limit check latency (${ITERATIONS} sequential calls per case, ${WARMUP} warm-up, ${REDIS_URL})`,
  );
  console.log('| case | p50 | p95 | p99 |');
  console.log('|---|---|---|---|');
  for (const c of cases) {
    const s = summarise(c.samples);
    console.log(`| ${c.name} | ${ms(s.p50)} | ${ms(s.p95)} | ${ms(s.p99)} |`);
  }
  if (!ours || !union || !one || !ping) throw new Error('no samples');
  const met = ours.p99 <= union.p99 && ours.p99 <= GOAL_P99_MS;
  console.log(
    `AIC p99 / rate-limiter-flexible (3 windows) p99: ${(ours.p99 / union.p99).toFixed(2)}x; ` +
      `AIC p50 / bare PING p50: ${(ours.p50 / ping.p50).toFixed(2)}x; ` +
      `goal p99 <= flexible's and <= ${GOAL_P99_MS} ms: ${met ? 'met' : 'NOT met'}`,
  );
  return { ours: ours.p99, flexible: union.p99 };
}

if (import.meta.url === `file://${process.argv[1]}`) await runLimiterBenchmark();
