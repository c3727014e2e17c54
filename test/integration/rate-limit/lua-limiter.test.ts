import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LimitPlan } from '../../../functions/core/rate-limit/policy.ts';
import {
  type LimitDecision,
  type RateWindow,
  SUB_BUCKETS,
} from '../../../functions/core/rate-limit/sliding-window.ts';
import {
  createGuardedRedis,
  type GuardedRedis,
} from '../../../functions/platform/redis/guarded-redis.ts';
import { checkRateLimit, rateLimitKey } from '../../../functions/platform/redis/rate-limit.ts';

// The shared server: only keys under this prefix are ever written or deleted.
const PREFIX = `aic-test-rl-${process.pid}-${randomBytes(3).toString('hex')}:`;
const URL = 'redis://127.0.0.1:6379';

let guarded: GuardedRedis;
let admin: Redis;

beforeAll(async () => {
  // A generous timeout: these tests are about exactness, the fault tests are about timeouts.
  guarded = createGuardedRedis({ url: URL, keyPrefix: PREFIX, commandTimeoutMs: 2_000 });
  admin = new Redis(URL);
});

afterAll(async () => {
  let cursor = '0';
  do {
    const [next, keys] = await admin.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 500);
    if (keys.length > 0) await admin.del(...keys);
    cursor = next;
  } while (cursor !== '0');
  await admin.quit();
  await guarded.close();
});

let users = 0;
/** A plan for a user no other test has used. */
function plan(windows: readonly RateWindow[], scope = '*'): LimitPlan {
  users += 1;
  return { identity: { kind: 'user', value: `user-${users}` }, scope, windows };
}

/**
 * The counters of a plan as stored: per window `[window_ms, index, count, index, count, ...]`,
 * unpacked by Redis' own MessagePack, so the test reads exactly what the script wrote.
 */
async function stored(p: LimitPlan): Promise<number[][]> {
  const unpacked = await admin.eval(
    "local raw = redis.call('GET', KEYS[1]) if not raw then return {} end return cmsgpack.unpack(raw)",
    1,
    `${PREFIX}${rateLimitKey(p)}`,
  );
  return unpacked as number[][];
}

/** The requests a stored window counts, over all its sub-buckets. */
function counted(window: readonly number[]): number {
  return window.filter((_, i) => i >= 2 && i % 2 === 0).reduce((a, b) => a + b, 0);
}

async function check(p: LimitPlan): Promise<LimitDecision> {
  const result = await checkRateLimit(guarded, p);
  if (!result.ok) throw new Error(`limiter call failed: ${result.reason}`);
  return result.value;
}

describe('the rate-limit Lua script on the real Redis', () => {
  it('admits exactly N of M concurrent requests', async () => {
    const p = plan([
      { name: 'minute', seconds: 60, limit: 37 },
      { name: 'hour', seconds: 3600, limit: 1000 },
    ]);
    const decisions = await Promise.all(Array.from({ length: 200 }, () => check(p)));
    expect(decisions.filter((d) => d.allowed)).toHaveLength(37);
    const remaining = decisions.filter((d) => d.allowed).map((d) => d.windows[0]?.remaining);
    expect(remaining.sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual(
      Array.from({ length: 37 }, (_, i) => i),
    );
    // Rejected requests were not recorded: the hour window holds the admitted ones only.
    const [, hour] = await stored(p);
    expect(hour?.[0]).toBe(3_600_000);
    expect(counted(hour ?? [])).toBe(37);
  });

  it('slides: quota comes back once the counted requests leave the window', async () => {
    const p = plan([{ name: 'burst', seconds: 2, limit: 3 }]);
    for (let i = 0; i < 3; i++) expect((await check(p)).allowed).toBe(true);
    const rejected = await check(p);
    expect(rejected.allowed).toBe(false);
    const retryMs = rejected.windows[0]?.retryAfterMs ?? 0;
    // Counted for between one window and one window plus a sub-bucket (100 ms here).
    expect(retryMs).toBeGreaterThan(1_800);
    expect(retryMs).toBeLessThanOrEqual(2_100);
    await sleep(1_000);
    expect((await check(p)).allowed).toBe(false);
    await sleep(retryMs - 1_000 + 20);
    const again = await check(p);
    expect(again.allowed).toBe(true);
    expect(again.windows[0]?.remaining).toBe(2);
  });

  it('lets rejected requests consume no quota', async () => {
    const p = plan([{ name: 'burst', seconds: 2, limit: 2 }]);
    expect((await check(p)).allowed).toBe(true);
    expect((await check(p)).allowed).toBe(true);
    const started = Date.now();
    let retryMs = 0;
    while (Date.now() - started < 1_200) {
      const decision = await check(p);
      expect(decision.allowed).toBe(false);
      retryMs = decision.windows[0]?.retryAfterMs ?? 0;
      await sleep(25);
    }
    await sleep(retryMs + 20);
    // Both admitted requests have left; the dozens of rejected ones never counted.
    expect((await check(p)).allowed).toBe(true);
    expect((await check(p)).allowed).toBe(true);
    expect((await check(p)).allowed).toBe(false);
  });

  it('checks all windows together and names the one that binds', async () => {
    const p = plan([
      { name: 'second', seconds: 1, limit: 5 },
      { name: 'minute', seconds: 60, limit: 7 },
    ]);
    for (let i = 0; i < 5; i++) expect((await check(p)).allowed).toBe(true);
    const bySecond = await check(p);
    expect(bySecond.windows.map((w) => w.allowed)).toEqual([false, true]);
    expect(bySecond.windows[1]?.remaining).toBe(2);
    await sleep(1_100);
    expect((await check(p)).allowed).toBe(true);
    expect((await check(p)).allowed).toBe(true);
    const byMinute = await check(p);
    expect(byMinute.windows.map((w) => w.allowed)).toEqual([true, false]);
    expect(byMinute.windows[1]?.retryAfterMs).toBeGreaterThan(55_000);
  });

  it('keeps its key under the prefix, bounded and expiring', async () => {
    const p = plan([
      { name: 'minute', seconds: 60, limit: 1000 },
      { name: 'day', seconds: 86_400, limit: 1000 },
    ]);
    for (let i = 0; i < 30; i++) await check(p);
    const key = rateLimitKey(p);
    expect(key).toMatch(/^rl:\{u:user-\d+\}:\*$/);
    expect(await admin.keys(`${PREFIX}${key}*`)).toEqual([`${PREFIX}${key}`]);
    // It expires once the newest sub-bucket of the longest window has left it.
    const dayMs = 86_400_000;
    const ttl = await admin.pttl(`${PREFIX}${key}`);
    expect(ttl).toBeGreaterThan(dayMs - 1_000);
    expect(ttl).toBeLessThanOrEqual(dayMs + dayMs / SUB_BUCKETS);
    const windows = await stored(p);
    expect(windows.map((w) => w[0])).toEqual([60_000, dayMs]);
    for (const window of windows) {
      expect(counted(window)).toBe(30);
      expect((window.length - 1) / 2).toBeLessThanOrEqual(SUB_BUCKETS + 1);
    }
  });

  it('starts a window afresh when its length changes, and keeps the others', async () => {
    const p = plan([
      { name: 'minute', seconds: 60, limit: 3 },
      { name: 'hour', seconds: 3600, limit: 100 },
    ]);
    for (let i = 0; i < 3; i++) expect((await check(p)).allowed).toBe(true);
    expect((await check(p)).allowed).toBe(false);
    // Same identity and scope, the first window now two minutes long: its old count is not its own.
    const changed: LimitPlan = {
      ...p,
      windows: [{ name: 'two-minutes', seconds: 120, limit: 3 }, p.windows[1] as RateWindow],
    };
    const decision = await check(changed);
    expect(decision.allowed).toBe(true);
    expect(decision.windows.map((w) => w.remaining)).toEqual([2, 96]);
  });

  it('keeps identities apart even when a sub looks like a key', async () => {
    const window = [{ name: 'minute', seconds: 60, limit: 1 }];
    const tricky: LimitPlan = {
      identity: { kind: 'user', value: 'a}:*:60s{' },
      scope: '*',
      windows: window,
    };
    const plain: LimitPlan = {
      identity: { kind: 'user', value: 'a' },
      scope: '*',
      windows: window,
    };
    expect((await check(tricky)).allowed).toBe(true);
    expect((await check(plain)).allowed).toBe(true);
    const ip: LimitPlan = { identity: { kind: 'ip', value: 'a' }, scope: '*', windows: window };
    expect((await check(ip)).allowed).toBe(true);
  });
});
