import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertNetworkSample } from '../../../functions/platform/db/network-repository.ts';
import { classifyDependencyError } from '../../../functions/platform/dependency-errors.ts';
import { recordFrame, sampleFrameRecord } from '../../support/frame-store.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';

// Found by the Redis-kill fault test in CI: two first uses of one session at once lost the race
// with a unique violation or a deadlock, answered 500.

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase({ migrate: true });
});

afterAll(async () => {
  await db?.drop();
});

const conditions = {
  available_bandwidth_kbps: 1000,
  rtt_ms: 10,
  packet_loss_percent: 0,
  jitter_ms: 1,
  fps: 30,
};

const frame = (sessionId: string) => sampleFrameRecord('racer', sessionId);

describe('first uses of a session racing each other', () => {
  it('store every network sample of concurrent first updates', async () => {
    for (let round = 0; round < 40; round++) {
      const sessionId = randomUUID();
      const stored = await Promise.all(
        Array.from({ length: 4 }, () =>
          insertNetworkSample(db.sql, {
            sessionId,
            userId: 'racer',
            conditions,
            estimatedBandwidthKbps: 1000,
            networkCondition: 0.5,
          }),
        ),
      );
      expect(stored.every((sample) => sample !== 'repeat')).toBe(true);
      const [row] =
        await db.sql`select count(*)::int as n from network_samples where session_id = ${sessionId}`;
      expect(row?.n).toBe(4);
    }
  });

  it('count every frame of concurrent first frames', async () => {
    for (let round = 0; round < 40; round++) {
      const sessionId = randomUUID();
      const recorded = await Promise.all(
        Array.from({ length: 4 }, () => recordFrame(db.sql, frame(sessionId))),
      );
      expect(recorded).toEqual([true, true, true, true]);
      const [row] = await db.sql`select frames_total from sessions where session_id = ${sessionId}`;
      expect(row?.frames_total).toBe(4);
    }
  });

  it('answers a deadlock that outlives the retries with 503, not 500', () => {
    const deadlock = Object.assign(new Error('deadlock detected'), { code: '40P01' });
    expect(classifyDependencyError(deadlock)).toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE' });
  });
});
