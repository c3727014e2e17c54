import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedisClient } from '../../../functions/platform/redis/client.ts';
import { GuardedRedis } from '../../../functions/platform/redis/guarded-redis.ts';

// The shared server on 6379: this file writes only under its own prefix and deletes only that.
const SHARED_URL = 'redis://127.0.0.1:6379';
const prefix = `aic-test:guarded-redis:${randomUUID()}:`;

async function ownKeys(raw: Redis): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await raw.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys;
}

describe('GuardedRedis against the shared Redis', () => {
  let raw: Redis;
  let client: Redis;
  let guarded: GuardedRedis;

  beforeAll(() => {
    raw = new Redis(SHARED_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    // A generous deadline: this file checks behaviour, not latency, on a possibly busy machine.
    client = createRedisClient({ url: SHARED_URL, keyPrefix: prefix, commandTimeoutMs: 1_000 });
    guarded = new GuardedRedis({ redis: client, timeoutMs: 1_000 });
  });

  afterAll(async () => {
    const keys = await ownKeys(raw);
    if (keys.length > 0) await raw.del(...keys);
    expect(await ownKeys(raw)).toEqual([]);
    await guarded.close();
    await raw.quit();
  });

  it('connects on the first call instead of failing it', async () => {
    expect(client.status).toBe('wait');
    const result = await guarded.run((redis) => redis.set('first', '1'));
    expect(result).toEqual({ ok: true, value: 'OK' });
    expect(guarded.state).toBe('CLOSED');
  });

  it('runs commands and stores keys under the prefix', async () => {
    await guarded.run((redis) => redis.set('greeting', 'hello', 'PX', 60_000));
    const read = await guarded.run((redis) => redis.get('greeting'));
    expect(read).toEqual({ ok: true, value: 'hello' });
    expect(await raw.get(`${prefix}greeting`)).toBe('hello');
  });

  it('runs transactions and Lua scripts with prefixed keys', async () => {
    const multi = await guarded.run((redis) =>
      redis.multi().incr('counter').pexpire('counter', 60_000).exec(),
    );
    expect(multi).toEqual({
      ok: true,
      value: [
        [null, 1],
        [null, 1],
      ],
    });
    const script = await guarded.run(
      (redis) =>
        redis.eval(
          "return redis.call('INCRBY', KEYS[1], ARGV[1])",
          1,
          'counter',
          '41',
        ) as Promise<number>,
    );
    expect(script).toEqual({ ok: true, value: 42 });
    expect(await raw.get(`${prefix}counter`)).toBe('42');
  });

  it('returns a reply error as a result instead of throwing', async () => {
    await guarded.run((redis) => redis.set('text', 'not a number', 'PX', 60_000));
    const result = await guarded.run((redis) => redis.incr('text'));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.reason).toBe('error');
    expect(String(result.error)).toContain('not an integer');
  });

  it('reports pass on ping with its latency', async () => {
    const check = await guarded.ping();
    expect(check.status).toBe('pass');
    expect(check.latency_ms).toBeGreaterThanOrEqual(0);
    expect(check.detail).toBeUndefined();
  });
});
