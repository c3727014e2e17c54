/**
 * The frame-event log without a stream: each append applies its events to Postgres at once, with
 * the consumer's own statement (docs/design.md section 5.4). Used when neither Kinesis nor Redis is
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

/**
 * What storing a frame did: `stored` it and counted it, found it stored before (`repeat`: a retry,
 * counted once), or nothing because the session is another user's (`not_owned`).
 */
export type FrameStoreOutcome = 'stored' | 'repeat' | 'not_owned';

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
  if (!(await claimSession(sql, claim))) return 'not_owned';
  const { stored } = await applyFrameEvents(sql, [toFrameEvent(record)]);
  return stored === 1 ? 'stored' : 'repeat';
}

/** {@link storeFrameMetrics}: true when the frame is stored (now or before), false when not owned. */
export async function recordFrame(
  sql: Sql,
  record: FrameMetricRecord,
  sessionsPerDay = DEFAULT_SESSIONS_PER_USER_PER_DAY,
): Promise<boolean> {
  return (await storeFrameMetrics(sql, record, sessionsPerDay)) !== 'not_owned';
}
