import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recentStatsByUser } from '../../../functions/platform/db/alerts-repository.ts';
import { recordFrame, sampleFrameRecord } from '../../support/frame-store.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';

/**
 * `frame_metrics.quality_score` (migration 0010): the engine's SSIM, which the policy's floors
 * apply to, stored beside the reported (Wang's) `ssim`; rows without it read as their `ssim`.
 */

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase({ migrate: true });
});

afterAll(async () => {
  await db?.drop();
});

describe('the quality score in storage', () => {
  it('stores a frame with both its reported SSIM and the score its floor applies to', async () => {
    const [userId, sessionId] = [`u-${randomUUID()}`, randomUUID()];
    await recordFrame(
      db.sql,
      sampleFrameRecord(userId, sessionId, { ssim: 0.71, qualityScore: 0.9 }),
    );
    const [row] = await db.sql<{ ssim: number; quality_score: number }[]>`
      select ssim, quality_score from frame_metrics where session_id = ${sessionId}`;
    expect(row).toEqual({ ssim: 0.71, quality_score: 0.9 });
  });

  it('gives the floor alert the mean of the scores, a row without one counting its SSIM', async () => {
    const [userId, sessionId] = [`u-${randomUUID()}`, randomUUID()];
    await recordFrame(
      db.sql,
      sampleFrameRecord(userId, sessionId, { ssim: 0.7, qualityScore: 0.9 }),
    );
    await recordFrame(
      db.sql,
      sampleFrameRecord(userId, randomUUID(), { ssim: 0.8, qualityScore: undefined }),
    );
    const stats = await recentStatsByUser(db.sql, 3600, { after: undefined, limit: 1000 });
    const mine = stats.find((s) => s.userId === userId);
    expect(mine?.meanSsim).toBeCloseTo(0.85, 10);
  });
});
