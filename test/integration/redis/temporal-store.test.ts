import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TemporalChange } from '../../../functions/core/temporal/session-state.ts';
import { createRedisClient } from '../../../functions/platform/redis/client.ts';
import { GuardedRedis } from '../../../functions/platform/redis/guarded-redis.ts';
import type { Runtime } from '../../../functions/platform/runtime.ts';
import {
  readTemporalState,
  saveTemporalChange,
  TEMPORAL_STATE_TTL_SECONDS,
  temporalStateKey,
} from '../../../functions/platform/temporal/temporal-store.ts';
import { deleteKeysWithPrefix, SHARED_REDIS_URL } from '../../support/redis-keys.ts';

// The shared server on 6379: this file writes only under its own prefix and deletes only that.
const prefix = `aic-test:temporal-store:${randomUUID()}:`;
let raw: Redis;
let guarded: GuardedRedis;
/** The store reads nothing of the runtime but its Redis. */
let runtime: Runtime;

beforeAll(() => {
  raw = new Redis(SHARED_REDIS_URL);
  const client = createRedisClient({
    url: SHARED_REDIS_URL,
    keyPrefix: prefix,
    commandTimeoutMs: 1_000,
  });
  guarded = new GuardedRedis({ redis: client, timeoutMs: 1_000 });
  runtime = { redis: guarded } as unknown as Runtime;
});

afterAll(async () => {
  await guarded.close();
  await deleteKeysWithPrefix(prefix);
  raw.disconnect();
});

const frame = { width: 64, height: 36, digest: () => 'd' };
const change = (sent: number, clockUs: number): TemporalChange => ({
  bucket: { clockUs, bytesPerSecond: 100_000, fps: 10 },
  sent: Buffer.alloc(sent, 7),
  frame,
  quality: { ssim: 0.97, psnrDb: 38 },
  keepViewer: true,
});

/** The session's state as `owner` reads it; throws when Redis did not answer. */
async function mustRead(session: string, owner = 'alice') {
  const state = await readTemporalState(runtime, owner, session);
  if (!state) throw new Error('Redis did not answer');
  return state;
}

/** A new session of alice's that has sent one image of 1,000 bytes, read back. */
async function afterOneImage(session: string) {
  await saveTemporalChange(runtime, 'alice', session, await mustRead(session), change(1_000, 0));
  return mustRead(session);
}

describe('the temporal state in Redis', () => {
  it('counts both frames when two write from the same read, neither losing its bytes', async () => {
    const session = randomUUID();
    const read = await mustRead(session);
    expect(read).toEqual({ state: { bucket: undefined, viewer: undefined }, version: '' });
    await Promise.all([
      saveTemporalChange(runtime, 'alice', session, read, change(3_000, 0)),
      saveTemporalChange(runtime, 'alice', session, read, change(2_000, 0)),
    ]);
    const after = await readTemporalState(runtime, 'alice', session);
    expect(after?.version).toBe('2');
    expect(after?.state.bucket?.sent.map((s) => s.bytes).sort()).toEqual([2_000, 3_000]);
    expect(after?.state.bucket?.tokens).toBe(10_000 - 5_000);
    expect((await after?.state.viewer?.image())?.length).toBeGreaterThan(0);
  });

  it('fetches the viewer image only when asked for, and not one written after the state was read', async () => {
    const session = randomUUID();
    const once = await afterOneImage(session);
    // Another frame of the session sends a new image before this one asks for the bytes.
    await saveTemporalChange(runtime, 'alice', session, once, change(500, 100_000));
    expect(await once.state.viewer?.image()).toBeUndefined();
    const now = await readTemporalState(runtime, 'alice', session);
    expect((await now?.state.viewer?.image())?.length).toBe(500);
  });

  it('rewrites only the source of an image a refinement could not better', async () => {
    const session = randomUUID();
    const once = await afterOneImage(session);
    await saveTemporalChange(runtime, 'alice', session, once, {
      ...change(0, 100_000),
      stalledAt: 50_000,
    });
    const after = await readTemporalState(runtime, 'alice', session);
    expect(after?.state.viewer?.stalledAt).toBe(50_000);
    expect((await after?.state.viewer?.image())?.length).toBe(1_000);
  });

  it('keeps what the screen ladder learnt of the content, and how sharp an edit was sent, with the viewer image', async () => {
    const session = randomUUID();
    const once = await afterOneImage(session);
    const ladder = {
      'webp-lossless@100x1': { bytes: 169_224, encodeMs: 41.4, ssim: 1 },
      'png-palette@16x1': { bytes: 47_241, encodeMs: 36 },
    };
    await saveTemporalChange(runtime, 'alice', session, once, { ...change(0, 100_000), ladder });
    const after = await mustRead(session);
    expect(after.state.viewer?.ladder).toEqual(ladder);
    expect((await after.state.viewer?.image())?.length).toBe(1_000);
    const edit = { tiles: [1, 2, 40], ssim: 0.95 };
    await saveTemporalChange(runtime, 'alice', session, after, { ...change(500, 200_000), edit });
    expect((await mustRead(session)).state.viewer?.edit).toEqual(edit);
  });

  it('keeps a session of one owner apart from the same id of another, for two minutes', async () => {
    const session = randomUUID();
    await afterOneImage(session);
    expect((await mustRead(session, 'bob')).state.bucket).toBeUndefined();
    const ttl = await raw.ttl(`${prefix}${temporalStateKey('alice', session)}`);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(TEMPORAL_STATE_TTL_SECONDS);
  });

  it('reads a corrupt state as none, so the session starts again', async () => {
    const session = randomUUID();
    await raw.hset(`${prefix}${temporalStateKey('alice', session)}`, {
      bucket: '{"tokens":"x"}',
      viewer: 'bytes',
      viewer_source: 'not json',
      v: '3',
    });
    const read = await readTemporalState(runtime, 'alice', session);
    expect(read).toEqual({ state: { bucket: undefined, viewer: undefined }, version: '3' });
  });
});
