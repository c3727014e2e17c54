import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRedisClient } from '../../../functions/platform/redis/client.ts';
import {
  cachedCredentials,
  type RedisCredentials,
  type RedisCredentialsProvider,
} from '../../../functions/platform/redis/credentials.ts';
import { GuardedRedis } from '../../../functions/platform/redis/guarded-redis.ts';
import {
  isLoginRefused,
  RedisReauthenticator,
} from '../../../functions/platform/redis/reauthenticator.ts';
import { type AclRedis, SERVICE_USER, startAclRedis } from './acl-redis.ts';

/**
 * GuardedRedis against a real Redis whose `aic` password is rotated under it: a call refused for
 * its login is retried once after the client logged in with a new credential, it is not counted
 * by the breaker, and a command is never applied twice.
 */

// Room for a busy machine: the repair waits for a reconnect, whose backoff is capped at 50 ms here.
const TIMEOUT_MS = 1_000;

/** A provider over a password the test changes, counting the reads of the source. */
function rotatingSource(password: string, options: { minRefreshIntervalMs?: number } = {}) {
  const source = { password, loads: 0 };
  const provider = cachedCredentials({
    maxAgeMs: 0,
    ...options,
    load: async () => {
      source.loads++;
      return { username: SERVICE_USER, password: source.password };
    },
  });
  return { source, provider };
}

let acl: AclRedis;
const cleanup: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  acl = await startAclRedis('first-password');
});

afterAll(async () => {
  await acl?.stop();
});

beforeEach(async () => {
  await acl.setUser('resetpass', '>first-password');
  await acl.admin.del('aic:counter');
});

afterEach(async () => {
  await Promise.all(cleanup.splice(0).map((close) => close()));
});

function guard(
  provider: RedisCredentialsProvider,
  first: RedisCredentials | undefined,
  timeoutMs = TIMEOUT_MS,
): { client: Redis; guarded: GuardedRedis; transitions: string[] } {
  const client = createRedisClient({
    // Without a first credential, no user in the URL either: the connection does not log in.
    url: first ? acl.serviceUrl : acl.server.url,
    keyPrefix: 'aic:',
    commandTimeoutMs: timeoutMs,
    maxReconnectDelayMs: 50,
    ...first,
    credentials: provider,
  });
  const transitions: string[] = [];
  const guarded = new GuardedRedis({
    redis: client,
    timeoutMs,
    breaker: { failureThreshold: 3, openMs: 60_000 },
    onStateChange: (from, to) => transitions.push(`${from}->${to}`),
  });
  cleanup.push(() => guarded.close());
  return { client, guarded, transitions };
}

/** Resolves with the next error the client reports that is Redis refusing its login. */
async function nextRefusal(client: Redis): Promise<Error> {
  for (;;) {
    const [error] = (await once(client, 'error')) as [Error];
    if (isLoginRefused(error)) return error;
  }
}

describe('GuardedRedis when Redis refuses its login', () => {
  it('logs in with the new password after a rotation and runs each refused command once', async () => {
    const { source, provider } = rotatingSource('first-password', { minRefreshIntervalMs: 0 });
    const { client, guarded, transitions } = guard(provider, await provider.current());
    expect((await guarded.run((redis) => redis.incr('counter'))).ok).toBe(true);

    // Rotated on the server, not yet in the source: the reconnect is refused.
    await acl.setUser('resetpass', '>second-password');
    const refused = nextRefusal(client);
    await acl.killServiceConnections();
    expect((await refused).message).toMatch(/^WRONGPASS/);

    source.password = 'second-password';
    // The burst finds the connection down: each call is refused, then retried after the repair.
    expect(client.status).not.toBe('ready');
    const loadsBefore = source.loads;
    const calls = 40;
    const results = await Promise.all(
      Array.from({ length: calls }, () => guarded.run((redis) => redis.incr('counter'))),
    );

    expect(results.filter((r) => !r.ok)).toEqual([]);
    // One read of the source for the whole burst (one more if a reconnect was refused meanwhile).
    expect(source.loads - loadsBefore).toBeLessThanOrEqual(2);
    // INCR is not idempotent: every call applied exactly once, none twice.
    expect(Number(await acl.admin.get('aic:counter'))).toBe(1 + calls);
    expect(guarded.state).toBe('CLOSED');
    expect(transitions).toEqual([]);
    expect([...(await acl.serviceClients()).values()].map((c) => c.user)).toEqual([SERVICE_USER]);
  });

  it('logs in a client started without a login (HELLO refused with NOAUTH) for its first call', async () => {
    const { provider } = rotatingSource('first-password');
    const { guarded } = guard(provider, undefined);

    const result = await guarded.run((redis) => redis.incr('counter'));

    expect(result).toEqual({ ok: true, value: 1 });
    expect([...(await acl.serviceClients()).values()].map((c) => c.user)).toEqual([SERVICE_USER]);
    expect(guarded.state).toBe('CLOSED');
  });

  it('sends AUTH on a live connection that is not logged in (NOAUTH) and runs the command', async () => {
    const { provider } = rotatingSource('first-password');
    // RESP2 sends no HELLO, so a connection without a login opens and its commands get NOAUTH.
    const client = new Redis({
      host: '127.0.0.1',
      port: acl.server.port,
      protocol: 2,
      keyPrefix: 'aic:',
      lazyConnect: true,
      enableOfflineQueue: false,
      enableReadyCheck: false,
      maxRetriesPerRequest: 0,
    });
    RedisReauthenticator.attach(client, provider);
    const guarded = new GuardedRedis({ redis: client, timeoutMs: TIMEOUT_MS });
    cleanup.push(() => guarded.close());
    await client.connect();
    const before = [...(await acl.serviceClients()).keys()];

    const result = await guarded.run((redis) => redis.incr('counter'));

    expect(result).toEqual({ ok: true, value: 1 });
    const after = await acl.serviceClients();
    // The same connection, now logged in: AUTH on it, no reconnect.
    expect([...after.keys()]).toEqual(before);
    expect([...after.values()].map((c) => c.user)).toEqual([SERVICE_USER]);
    expect(Number(await acl.admin.get('aic:counter'))).toBe(1);
  });

  it('counts a refusal that a new credential does not fix, and reads the source sparingly', async () => {
    const { source, provider } = rotatingSource('first-password');
    const { client, guarded, transitions } = guard(provider, await provider.current());
    expect((await guarded.run((redis) => redis.ping())).ok).toBe(true);

    await acl.setUser('resetpass', '>password-the-source-never-learns');
    const refused = nextRefusal(client);
    await acl.killServiceConnections();
    await refused;
    const loadsBefore = source.loads;
    const results = [];
    for (let i = 0; i < 3; i++) results.push(await guarded.run((redis) => redis.ping()));

    expect(results.every((r) => !r.ok && r.reason === 'error')).toBe(true);
    expect(transitions).toEqual(['CLOSED->OPEN']);
    await sleep(300);
    // Reconnects every 50 ms are refused, but the source is read at most once a second.
    expect(source.loads - loadsBefore).toBeLessThanOrEqual(1);
  });

  it('does not count calls whose login is still being repaired at their deadline', async () => {
    let release = (): void => undefined;
    const published = new Promise<void>((resolve) => {
      release = resolve;
    });
    const login = { username: SERVICE_USER, password: 'first-password' };
    // A slow source (Secrets Manager under load): the new password arrives after the deadlines.
    const provider: RedisCredentialsProvider = {
      current: async () => ({ ...login }),
      refresh: async () => {
        await published;
        return { username: SERVICE_USER, password: 'second-password' };
      },
    };
    const { client, guarded, transitions } = guard(provider, login, 100);
    expect((await guarded.run((redis) => redis.ping())).ok).toBe(true);
    await acl.setUser('resetpass', '>second-password');
    const refused = nextRefusal(client);
    await acl.killServiceConnections();
    await refused;

    for (let i = 0; i < 5; i++) {
      const result = await guarded.run((redis) => redis.incr('counter'));
      expect(result.ok).toBe(false);
    }
    expect(guarded.state).toBe('CLOSED');

    release();
    const deadline = Date.now() + 2_000;
    let result = await guarded.run((redis) => redis.incr('counter'));
    while (!result.ok && Date.now() < deadline) {
      await sleep(20);
      result = await guarded.run((redis) => redis.incr('counter'));
    }
    expect(result).toEqual({ ok: true, value: 1 });
    expect(transitions).toEqual([]);
  });

  it('logs live connections in again on the renewal timer, and stops it on close', async () => {
    await acl.setUser('on', '>first-password');
    const credentials = { username: SERVICE_USER, password: 'first-password', renewals: 0 };
    const provider: RedisCredentialsProvider = {
      renewEveryMs: 50,
      current: async () => {
        credentials.renewals++;
        return { username: credentials.username, password: credentials.password };
      },
      refresh: async () => ({ username: credentials.username, password: credentials.password }),
    };
    await acl.admin.call('ACL', 'SETUSER', 'aic-renewed', 'on', '>renewed', '~aic:*', '+@all');
    const { guarded } = guard(provider, await provider.current());
    expect((await guarded.run((redis) => redis.ping())).ok).toBe(true);
    const [id] = [...(await acl.serviceClients()).keys()];

    // As an IAM token is renewed: the next renewal presents the new login on the live connection.
    Object.assign(credentials, { username: 'aic-renewed', password: 'renewed' });
    const deadline = Date.now() + 2_000;
    while ((await acl.serviceClients()).get(id as string)?.user !== 'aic-renewed') {
      if (Date.now() > deadline) throw new Error('the connection was not logged in again');
      await sleep(20);
    }
    expect([...(await acl.serviceClients()).keys()]).toEqual([id]);

    await guarded.close();
    const renewals = credentials.renewals;
    await sleep(200);
    expect(credentials.renewals).toBe(renewals);
    await acl.admin.call('ACL', 'DELUSER', 'aic-renewed');
  });
});
