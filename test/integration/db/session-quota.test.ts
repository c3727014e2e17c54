import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SessionQuotaExceededError } from '../../../functions/core/errors.ts';
import { insertNetworkSample } from '../../../functions/platform/db/network-repository.ts';
import { REPEAT, secondsUntilNextUtcDay } from '../../../functions/platform/db/session-quota.ts';
import {
  checkSessionQuota,
  sessionTotals,
} from '../../../functions/platform/db/session-repository.ts';
import { recordFrame, sampleFrameRecord, storeFrameMetrics } from '../../support/frame-store.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase({ migrate: true });
});

afterAll(async () => {
  await db?.drop();
});

const frame = (userId: string, sessionId: string) => sampleFrameRecord(userId, sessionId);

const sample = (userId: string, sessionId: string) => ({
  sessionId,
  userId,
  conditions: {
    available_bandwidth_kbps: 1000,
    rtt_ms: 10,
    packet_loss_percent: 0,
    jitter_ms: 1,
    fps: 30,
  },
  estimatedBandwidthKbps: 1000,
  networkCondition: 0.5,
});

/** Stores a frame, or tells the quota's refusal apart from any other failure. */
async function claimByFrame(userId: string, sessionId: string, cap: number) {
  try {
    return await storeFrameMetrics(db.sql, frame(userId, sessionId), cap);
  } catch (error) {
    if (error instanceof SessionQuotaExceededError) return 'over_quota';
    throw error;
  }
}

async function claimBySample(userId: string, sessionId: string, cap: number) {
  try {
    return (await insertNetworkSample(db.sql, sample(userId, sessionId), cap)) === REPEAT
      ? 'repeat'
      : 'stored';
  } catch (error) {
    if (error instanceof SessionQuotaExceededError) return 'over_quota';
    throw error;
  }
}

async function footprint(userId: string) {
  const [row] = await db.sql<
    { sessions: number; frames: number; samples: number; quota: number }[]
  >`
    select (select count(*)::int from sessions where user_id = ${userId}) as sessions,
      (select count(*)::int from frame_metrics where user_id = ${userId}) as frames,
      (select count(*)::int from network_samples where user_id = ${userId}) as samples,
      (select coalesce(sum(sessions), 0)::int from session_quotas where user_id = ${userId}) as quota
  `;
  return row;
}

describe('the daily quota of new sessions', () => {
  it('never lets concurrent first frames and updates of new sessions pass the cap', async () => {
    const userId = `flood-${randomUUID()}`;
    const outcomes = await Promise.all([
      ...Array.from({ length: 40 }, () => claimByFrame(userId, randomUUID(), 5)),
      ...Array.from({ length: 20 }, () => claimBySample(userId, randomUUID(), 5)),
    ]);
    expect(outcomes.filter((o) => o === 'stored')).toHaveLength(5);
    expect(outcomes.filter((o) => o === 'over_quota')).toHaveLength(55);
    const stored = await footprint(userId);
    expect(stored?.sessions).toBe(5);
    expect((stored?.frames ?? 0) + (stored?.samples ?? 0)).toBe(5);
    expect(stored?.quota).toBe(5);
  });

  it('refuses with the code, a Retry-After until the UTC day ends, and writes nothing', async () => {
    const userId = `refused-${randomUUID()}`;
    await recordFrame(db.sql, frame(userId, randomUUID()), 1);
    const refused = randomUUID();
    // Counted from before the refusal: the refusal's own clock reads this or later.
    const before = Date.now();
    const error = await recordFrame(db.sql, frame(userId, refused), 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SessionQuotaExceededError);
    const aic = error as SessionQuotaExceededError;
    expect(aic).toMatchObject({ code: 'SESSION_QUOTA_EXCEEDED', httpStatus: 429, grpcStatus: 8 });
    const retryAfter = Number(aic.headers?.['Retry-After']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(secondsUntilNextUtcDay(before));
    await expect(insertNetworkSample(db.sql, sample(userId, refused), 1)).rejects.toBeInstanceOf(
      SessionQuotaExceededError,
    );
    expect(await footprint(userId)).toEqual({ sessions: 1, frames: 1, samples: 0, quota: 1 });
  });

  it('keeps the existing sessions of a user over the cap working', async () => {
    const userId = `steady-${randomUUID()}`;
    const [first, second] = [randomUUID(), randomUUID()];
    expect(await claimByFrame(userId, first, 2)).toBe('stored');
    expect(await claimBySample(userId, second, 2)).toBe('stored');
    expect(await claimByFrame(userId, randomUUID(), 2)).toBe('over_quota');
    expect(await claimBySample(userId, first, 2)).toBe('stored');
    expect(await claimByFrame(userId, second, 2)).toBe('stored');
    await expect(checkSessionQuota(db.sql, first, userId, 2)).resolves.toBeUndefined();
    await expect(checkSessionQuota(db.sql, randomUUID(), userId, 2)).rejects.toBeInstanceOf(
      SessionQuotaExceededError,
    );
  });

  it('counts each tenant on its own, and charges a tenant for its own session under another tenant`s id', async () => {
    const [alice, bob] = [`alice-${randomUUID()}`, `bob-${randomUUID()}`];
    const alices = randomUUID();
    expect(await claimByFrame(alice, alices, 1)).toBe('stored');
    expect(await claimByFrame(alice, randomUUID(), 1)).toBe('over_quota');
    expect(await claimByFrame(bob, randomUUID(), 1)).toBe('stored');
    // Bob is over his cap: the id Alice uses would be a new session of his, so it is refused.
    expect(await claimByFrame(bob, alices, 1)).toBe('over_quota');
    expect(await claimBySample(bob, alices, 1)).toBe('over_quota');
    await expect(checkSessionQuota(db.sql, alices, bob, 1)).rejects.toBeInstanceOf(
      SessionQuotaExceededError,
    );
    expect(await sessionTotals(db.sql, alices, bob)).toBeNull();
    expect(await sessionTotals(db.sql, alices, alice)).toMatchObject({ frames: 1 });
    expect(await footprint(bob)).toEqual({ sessions: 1, frames: 1, samples: 0, quota: 1 });
  });

  it('lets a tenant with sessions left start its own session under an id another tenant uses', async () => {
    const [alice, bob] = [`alice-${randomUUID()}`, `bob-${randomUUID()}`];
    const shared = randomUUID();
    expect(await claimByFrame(alice, shared, 1)).toBe('stored');
    expect(await claimBySample(bob, shared, 1)).toBe('stored');
    expect(await claimByFrame(bob, shared, 1)).toBe('stored');
    expect(await footprint(alice)).toEqual({ sessions: 1, frames: 1, samples: 0, quota: 1 });
    expect(await footprint(bob)).toEqual({ sessions: 1, frames: 1, samples: 1, quota: 1 });
    expect(await sessionTotals(db.sql, shared, alice)).toMatchObject({ frames: 1 });
    expect(await sessionTotals(db.sql, shared, bob)).toMatchObject({ frames: 1 });
  });

  it('lets concurrent first uses of the last session a user has left all through', async () => {
    for (let round = 0; round < 10; round++) {
      const userId = `last-${randomUUID()}`;
      expect(await claimByFrame(userId, randomUUID(), 2)).toBe('stored');
      const last = randomUUID();
      const outcomes = await Promise.all([
        claimByFrame(userId, last, 2),
        claimBySample(userId, last, 2),
        claimByFrame(userId, last, 2),
        claimBySample(userId, last, 2),
      ]);
      expect(outcomes).toEqual(['stored', 'stored', 'stored', 'stored']);
      expect(await footprint(userId)).toMatchObject({ sessions: 2, frames: 3, samples: 2 });
    }
  });

  it('starts again on a new UTC day', async () => {
    const userId = `yesterday-${randomUUID()}`;
    expect(await claimByFrame(userId, randomUUID(), 1)).toBe('stored');
    expect(await claimByFrame(userId, randomUUID(), 1)).toBe('over_quota');
    await db.sql`update session_quotas set day = day - 1 where user_id = ${userId}`;
    expect(await claimBySample(userId, randomUUID(), 1)).toBe('stored');
    const [row] = await db.sql<{ today: boolean; sessions: number }[]>`
      select day = aic_utc_day(now()) as today, sessions from session_quotas
      where user_id = ${userId}
    `;
    expect(row).toEqual({ today: true, sessions: 1 });
  });

  it('holds under any interleaving of first uses: at most the cap, never counted short', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.array(fc.record({ session: fc.integer({ min: 0, max: 7 }), frame: fc.boolean() }), {
          minLength: 1,
          maxLength: 16,
        }),
        async (cap, claims) => {
          const userId = `prop-${randomUUID()}`;
          const ids = Array.from({ length: 8 }, () => randomUUID());
          const outcomes = await Promise.all(
            claims.map(({ session, frame: byFrame }) =>
              (byFrame ? claimByFrame : claimBySample)(userId, ids[session] as string, cap),
            ),
          );
          // A first use is either stored or refused by the quota: never taken for a repeat.
          for (const outcome of outcomes) expect(['stored', 'over_quota']).toContain(outcome);
          const after = await footprint(userId);
          expect(after?.sessions).toBeLessThanOrEqual(cap);
          expect(after?.quota).toBeGreaterThanOrEqual(after?.sessions ?? 0);
          expect(after?.quota).toBeLessThanOrEqual(cap);
          // Every stored session goes on working.
          const [owned] = await db.sql<{ ids: string[] }[]>`
            select coalesce(array_agg(session_id::text), '{}') as ids from sessions
            where user_id = ${userId}
          `;
          for (const id of owned?.ids ?? [])
            expect(await claimByFrame(userId, id, cap)).toBe('stored');
        },
      ),
      { numRuns: 15 },
    );
  });
});

describe('secondsUntilNextUtcDay', () => {
  it('counts the seconds to the next UTC midnight, at least 1', () => {
    expect(secondsUntilNextUtcDay(Date.UTC(2025, 0, 1, 0, 0, 0))).toBe(86_400);
    expect(secondsUntilNextUtcDay(Date.UTC(2025, 0, 1, 23, 59, 59, 500))).toBe(1);
    expect(secondsUntilNextUtcDay(Date.UTC(2025, 11, 31, 12, 0, 0))).toBe(43_200);
  });
});
