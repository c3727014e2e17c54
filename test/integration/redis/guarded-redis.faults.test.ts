import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { BreakerStateName } from '../../../functions/core/circuit-breaker.ts';
import { createRedisClient } from '../../../functions/platform/redis/client.ts';
import {
  createGuardedRedis,
  GuardedRedis,
} from '../../../functions/platform/redis/guarded-redis.ts';
import { freePort, type OwnRedis, startOwnRedis } from '../../support/own-redis.ts';

const COMMAND_TIMEOUT_MS = 50;
// Slack for a loaded CI machine; a hanging call would take seconds.
const CALL_BUDGET_MS = 250;

async function waitFor(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await sleep(10);
  }
}

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = performance.now();
  const value = await work();
  return { value, ms: performance.now() - started };
}

describe('GuardedRedis against a Redis that fails', () => {
  let server: OwnRedis;
  const cleanup: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    server = await startOwnRedis({ enableDebugCommand: true });
  });

  afterEach(async () => {
    await Promise.all(cleanup.splice(0).map((close) => close()));
  });

  afterAll(async () => {
    await server?.stop();
  });

  function guard(transitions: string[] = []): { client: Redis; guarded: GuardedRedis } {
    const client = createRedisClient({
      url: server.url,
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
      maxReconnectDelayMs: 50,
    });
    const guarded = new GuardedRedis({
      redis: client,
      timeoutMs: COMMAND_TIMEOUT_MS,
      breaker: { openMs: 200 },
      onStateChange: (from, to) => transitions.push(`${from}->${to}`),
    });
    cleanup.push(() => guarded.close());
    return { client, guarded };
  }

  it('opens after five failed calls once the server dies and closes after two good trials', async () => {
    const transitions: string[] = [];
    const { client, guarded } = guard(transitions);
    expect((await guarded.run((redis) => redis.set('k', 'v'))).ok).toBe(true);

    await server.kill();
    for (let i = 0; i < 5; i += 1) {
      expect(guarded.state).toBe('CLOSED');
      const { value, ms } = await timed(() => guarded.run((redis) => redis.get('k')));
      expect(value.ok).toBe(false);
      if (!value.ok) expect(['error', 'timeout']).toContain(value.reason);
      expect(ms).toBeLessThan(CALL_BUDGET_MS);
    }
    expect(guarded.state).toBe('OPEN');
    expect(transitions).toEqual(['CLOSED->OPEN']);

    const op = vi.fn(async () => 'never');
    const refused = await timed(() => guarded.run(op));
    expect(refused.value).toEqual({ ok: false, reason: 'breaker_open' });
    expect(op).not.toHaveBeenCalled();
    expect(refused.ms).toBeLessThan(5);
    expect(await guarded.ping()).toMatchObject({
      status: 'degraded',
      detail: 'circuit breaker open',
    });

    await server.restart();
    await waitFor(() => client.status === 'ready', 5_000);
    await sleep(250);

    expect(await guarded.run((redis) => redis.set('k', 'again'))).toEqual({
      ok: true,
      value: 'OK',
    });
    expect(guarded.state).toBe('HALF_OPEN');
    expect(await guarded.run((redis) => redis.get('k'))).toEqual({ ok: true, value: 'again' });
    expect(guarded.state).toBe('CLOSED');
    expect(transitions).toEqual(['CLOSED->OPEN', 'OPEN->HALF_OPEN', 'HALF_OPEN->CLOSED']);
  });

  it('counts a reply slower than the command timeout as a timeout failure', async () => {
    const { guarded } = guard();
    expect((await guarded.run((redis) => redis.ping())).ok).toBe(true);
    const admin = new Redis(server.url, { maxRetriesPerRequest: 1 });
    cleanup.push(() => admin.quit());
    await admin.ping();

    // DEBUG SLEEP blocks the whole (own) server, like a slow Lua script or a saturated node.
    const asleep = admin.call('DEBUG', 'SLEEP', '0.6');
    await sleep(20);
    for (let i = 0; i < 5; i += 1) {
      const { value, ms } = await timed(() => guarded.run((redis) => redis.get('k')));
      expect(value).toMatchObject({ ok: false, reason: 'timeout' });
      expect(ms).toBeLessThan(CALL_BUDGET_MS);
    }
    expect(guarded.state).toBe('OPEN');
    await asleep;
  });

  it('resets the failure count when a call succeeds between failures', async () => {
    const { guarded } = guard();
    const fail = () => guarded.run(() => Promise.reject(new Error('boom')));
    for (let i = 0; i < 4; i += 1) await fail();
    expect((await guarded.run((redis) => redis.ping())).ok).toBe(true);
    for (let i = 0; i < 4; i += 1) await fail();
    expect(guarded.state).toBe('CLOSED');
    await fail();
    expect(guarded.state).toBe('OPEN');
  });

  it('reports a call that outlives the deadline as a timeout even without a Redis command', async () => {
    const { guarded } = guard();
    const { value, ms } = await timed(() => guarded.run(() => sleep(500).then(() => 'late')));
    expect(value).toMatchObject({ ok: false, reason: 'timeout' });
    expect(ms).toBeLessThan(CALL_BUDGET_MS);
  });
});

describe('GuardedRedis with nothing listening', () => {
  it('fails fast, opens the breaker and survives a throwing state listener', async () => {
    const port = await freePort();
    const warnings: string[] = [];
    const logger = {
      info: () => undefined,
      warn: (message: string) => warnings.push(message),
    };
    const seen: BreakerStateName[] = [];
    const guarded = createGuardedRedis({
      url: `redis://127.0.0.1:${port}`,
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
      maxReconnectDelayMs: 50,
      logger,
      onStateChange: (_from, to) => {
        seen.push(to);
        throw new Error('metrics sink down');
      },
    });
    try {
      for (let i = 0; i < 5; i += 1) {
        const { value, ms } = await timed(() => guarded.run((redis) => redis.get('k')));
        expect(value.ok).toBe(false);
        expect(ms).toBeLessThan(CALL_BUDGET_MS);
      }
      expect(guarded.state).toBe('OPEN');
      expect(seen).toEqual(['OPEN']);
      expect(warnings).toContain('Redis connection error');
      expect(warnings).toContain('Circuit breaker state listener failed');
      expect(await guarded.run((redis) => redis.get('k'))).toEqual({
        ok: false,
        reason: 'breaker_open',
      });
    } finally {
      await guarded.close();
    }
  });

  it('reports degraded readiness without leaking addresses', async () => {
    const port = await freePort();
    const guarded = createGuardedRedis({
      url: `redis://127.0.0.1:${port}`,
      commandTimeoutMs: COMMAND_TIMEOUT_MS,
    });
    try {
      const check = await guarded.ping();
      expect(check.status).toBe('degraded');
      expect(['unreachable', `no reply within ${COMMAND_TIMEOUT_MS} ms`]).toContain(check.detail);
    } finally {
      await guarded.close();
    }
  });
});
