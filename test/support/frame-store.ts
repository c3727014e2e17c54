/**
 * One frame's whole path through Postgres without a stream, for the tests and benchmarks of the
 * database: the session claimed (within its owner's daily quota) and the frame applied by the
 * consumer's statement, as the service does with the Postgres frame log.
 */
import type { Sql } from '../../functions/platform/db/database.ts';
import {
  applyFrameEvents,
  type FrameMetricRecord,
} from '../../functions/platform/db/frame-metrics-repository.ts';
import { DEFAULT_SESSIONS_PER_USER_PER_DAY } from '../../functions/platform/db/session-quota.ts';
import { claimSession } from '../../functions/platform/db/session-repository.ts';
import { toFrameEvent } from '../../functions/platform/metrics/frame-event-of.ts';

/** What storing a frame did: `stored` it and counted it, or found it stored before (`repeat`). */
export type FrameStoreOutcome = 'stored' | 'repeat';

/**
 * Claims the frame's session and applies the frame at once.
 *
 * @throws SessionQuotaExceededError when the session is new and its owner has no new session left
 *   today (nothing is written).
 */
export async function storeFrameMetrics(
  sql: Sql,
  record: FrameMetricRecord,
  sessionsPerDay = DEFAULT_SESSIONS_PER_USER_PER_DAY,
): Promise<FrameStoreOutcome> {
  await claimSession(sql, { sessionId: record.sessionId, userId: record.userId, sessionsPerDay });
  const { stored } = await applyFrameEvents(sql, [toFrameEvent(record)]);
  return stored === 1 ? 'stored' : 'repeat';
}

/** {@link storeFrameMetrics}, answering whether the frame was stored now (not a repeat). */
export async function recordFrame(
  sql: Sql,
  record: FrameMetricRecord,
  sessionsPerDay = DEFAULT_SESSIONS_PER_USER_PER_DAY,
): Promise<boolean> {
  return (await storeFrameMetrics(sql, record, sessionsPerDay)) === 'stored';
}

/**
 * A sent 640x360 JPEG frame of `sessionId`, owned by `userId`, as the service records one: a
 * success within its budget, unless `overrides` says otherwise.
 */
export function sampleFrameRecord(
  userId: string,
  sessionId: string,
  overrides: Partial<FrameMetricRecord> = {},
): FrameMetricRecord {
  return {
    sessionId,
    userId,
    frameNumber: null,
    frameType: 'video',
    mode: 'adaptive',
    format: 'jpeg',
    quality: 70,
    width: 640,
    height: 360,
    originalBytes: 60_000,
    compressedBytes: 9_000,
    compressionRatio: 0.85,
    ssim: 0.93,
    psnrDb: 31,
    budgetBytes: 10_000,
    withinBudget: true,
    encodeAttempts: 1,
    decodeMs: 2,
    encodeMs: 3,
    metricsMs: 4,
    totalMs: 10,
    fallback: false,
    fallbackReason: null,
    status: 'success',
    dropReason: null,
    ...overrides,
  };
}
