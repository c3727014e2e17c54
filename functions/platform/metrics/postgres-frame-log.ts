/**
 * The frame-event log without a stream: each append applies its events to Postgres at once, with
 * the consumer's own statement (docs/design.md section 5.8). Used when neither Kinesis nor Redis is
 * configured, and as the fallback of the Redis stream while Redis cannot take an append.
 */

import type { Sql } from '../db/database.ts';
import { applyFrameEvents, type FrameMetricRecord } from '../db/frame-metrics-repository.ts';
import { DEFAULT_SESSIONS_PER_USER_PER_DAY } from '../db/session-quota.ts';
import { claimSession } from '../db/session-repository.ts';
import type { FrameEventLog } from './frame-event-log.ts';
import { toFrameEvent } from './frame-event-of.ts';

/** A log whose append is the consumer's batch statement, run in the caller's request. */
export function createPostgresFrameLog(sql: Sql): FrameEventLog {
  return {
    kind: 'postgres',
    async append(events) {
      await applyFrameEvents(sql, events);
    },
    close: async () => undefined,
  };
}

/** What storing a frame did: `stored` it and counted it, or found it stored before (`repeat`). */
export type FrameStoreOutcome = 'stored' | 'repeat';

/**
 * Claims the frame's session (within its owner's daily quota of new sessions) and applies the
 * frame at once: the whole path of one frame through Postgres, without a stream.
 *
 * @throws SessionQuotaExceededError when the session is new and its owner has no new session left
 *   today (nothing is written).
 */
export async function storeFrameMetrics(
  sql: Sql,
  record: FrameMetricRecord,
  sessionsPerDay = DEFAULT_SESSIONS_PER_USER_PER_DAY,
): Promise<FrameStoreOutcome> {
  const claim = { sessionId: record.sessionId, userId: record.userId, sessionsPerDay };
  await claimSession(sql, claim);
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
