import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Outcome, startTraffic } from '../../reliability/faults/traffic.ts';
import { encodeFrame } from '../../support/frames.ts';
import { startTestApi, type TestApi } from '../../support/local-api.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';
import { type AclRedis, SERVICE_USER, startAclRedis } from './acl-redis.ts';

/**
 * The Redis password of the services' ACL user is rotated under load, as Secrets Manager rotates
 * it (a second password, the new one published, the old one removed, every connection killed),
 * and then harshly (the password replaced and connections killed before the new one is published).
 * The local API reads its password from REDIS_PASSWORD_FILE. No request may fail, nothing
 * acknowledged may be lost, and afterwards every connection is logged in with the new password
 * and Redis decides the rate limits again.
 */

const API = '/api/v1/aic';
const USERS = ['rotation-user-0', 'rotation-user-1'];

let redis: AclRedis;
let db: TestDatabase;
let api: TestApi;
let dir: string;
let passwordFile: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'aic-redis-rotation-'));
  passwordFile = join(dir, 'redis-password');
  await writeFile(passwordFile, 'password-1\n');
  [redis, db] = await Promise.all([
    startAclRedis('password-1'),
    createTestDatabase({ migrate: true }),
  ]);
  api = await startTestApi({
    DATABASE_URL: db.url,
    REDIS_URL: redis.serviceUrl,
    REDIS_PASSWORD_FILE: passwordFile,
    REDIS_KEY_PREFIX: 'aic:',
    BREAKER_OPEN_MS: '500',
    // A login being repaired is the fault here, not slowness: room for a busy 2-core machine.
    REDIS_COMMAND_TIMEOUT_MS: '250',
    RATE_LIMIT_ROUTE_OVERRIDES: JSON.stringify({ '*': { user: { minute: 100_000 } } }),
  });
}, 60_000);

afterAll(async () => {
  await api?.close();
  await db?.drop();
  await redis?.stop();
  await rm(dir, { recursive: true, force: true });
});

const sessions = USERS.map(() => ({ network: randomUUID(), frames: randomUUID() }));

async function redisCheck(): Promise<string> {
  const response = await api.request('/readiness');
  const body = (await response.json()) as { checks: Record<string, { status: string }> };
  return body.checks.redis?.status ?? 'missing';
}

async function waitForRedisPass(timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await redisCheck()) === 'pass') return true;
    await sleep(100);
  }
  return false;
}

const acknowledged = (outcomes: Outcome[], label: string) =>
  outcomes.filter((o) => o.label === label && o.status === 200).length;

describe('Redis password rotated under load', () => {
  it('answers every request, loses nothing and logs in with the new password', async () => {
    const frame = (await encodeFrame('scene', { width: 160, height: 90 })).toString('base64');
    const traffic = startTraffic(6, (worker, sequence) => {
      const user = USERS[worker % USERS.length] as string;
      const session = sessions[worker % USERS.length] as { network: string; frames: string };
      if (worker < 4) {
        return {
          label: `network:${session.network}`,
          send: () =>
            api.request(`${API}/sessions/${session.network}/network`, {
              method: 'PUT',
              user,
              headers: { 'content-type': 'application/json', 'idempotency-key': randomUUID() },
              body: JSON.stringify({
                available_bandwidth_kbps: 2000 + sequence,
                rtt_ms: 40,
                packet_loss_percent: 0,
                jitter_ms: 4,
              }),
            }),
        };
      }
      return {
        label: `frame:${session.frames}`,
        send: () =>
          api.request(`${API}/compress`, {
            method: 'POST',
            user,
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ session_id: session.frames, frame_data: frame }),
          }),
      };
    });
    await sleep(800);

    // As Secrets Manager rotates: both valid, the new one published, the old one removed.
    await redis.setUser('>password-2');
    await writeFile(passwordFile, 'password-2\n');
    await redis.setUser('<password-1');
    expect(await redis.killServiceConnections()).toBeGreaterThan(0);
    expect(await waitForRedisPass(5_000)).toBe(true);
    // Only the second password opens now: the connections back are logged in with it.
    expect([...(await redis.serviceClients()).values()].map((c) => c.user)).toContain(SERVICE_USER);
    await sleep(500);

    // Harsh: the password replaced and connections killed before the new one is published.
    await redis.setUser('resetpass', '>password-3');
    await redis.killServiceConnections();
    await sleep(300);
    await writeFile(passwordFile, 'password-3\n');

    expect(await waitForRedisPass(8_000)).toBe(true);
    const recoveredAt = traffic.elapsed();
    // Redis must decide the limits again: the limiter's keys come back after being removed.
    const limiterKeys = await redis.admin.keys('aic:rl:*');
    expect(limiterKeys.length).toBeGreaterThan(0);
    await redis.admin.del(...limiterKeys);
    await sleep(1_000);
    const outcomes = await traffic.stop();
    await api.metricsSettled();

    const statuses = [...new Set(outcomes.map((o) => o.status))];
    expect(statuses, JSON.stringify(statuses)).toEqual([200]);
    const after = outcomes.filter((o) => o.at > recoveredAt + 300);
    expect(after.length).toBeGreaterThan(0);
    expect(after.filter((o) => o.degraded !== null)).toEqual([]);
    for (const user of USERS) {
      expect(await redis.admin.keys(`aic:rl:{u:${user}}*`)).not.toEqual([]);
    }

    // Nothing acknowledged is lost: every network update and every frame is counted.
    for (const session of sessions) {
      const [row] = await db.sql<{ n: number }[]>`
        select count(*)::int as n from network_samples where session_id = ${session.network}`;
      expect(row?.n).toBe(acknowledged(outcomes, `network:${session.network}`));
      const user = USERS[sessions.indexOf(session)] as string;
      const stats = (await (
        await api.request(`${API}/sessions/${session.frames}`, { user })
      ).json()) as { frames: number };
      expect(stats.frames).toBe(acknowledged(outcomes, `frame:${session.frames}`));
    }

    // Every connection now is the service user's, so logged in with the third password (the
    // others no longer open): the request path's, the frame log's and the stream consumer's.
    const clients = [...(await redis.serviceClients()).values()];
    expect(clients.every((c) => c.user === SERVICE_USER)).toBe(true);
    expect(clients.length).toBeGreaterThanOrEqual(3);
    expect(clients.some((c) => c.name.startsWith('aic-metrics-'))).toBe(true);
    // Redis refused the stale passwords, and never a command: the access string is enough.
    const log = await redis.aclLog();
    expect(log.some((e) => e.reason === 'auth' && e.username === SERVICE_USER)).toBe(true);
    expect(log.filter((e) => e.reason !== 'auth')).toEqual([]);
    console.info(
      `[fault] redis credential rotation: ${outcomes.length} requests, ${
        outcomes.filter((o) => o.degraded !== null).length
      } degraded, recovered at ${Math.round(recoveredAt)} ms`,
    );
  }, 30_000);
});
