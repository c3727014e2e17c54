/**
 * The frame-event log without a stream: each append applies its events to Postgres at once, with
 * the consumer's own statement (docs/design.md section 5.8). Used when neither Kinesis nor Redis is
 * configured, and as the fallback of the Redis stream while Redis cannot take an append.
 */

import type { Sql } from '../db/database.ts';
import { applyFrameEvents } from '../db/frame-metrics-repository.ts';
import type { FrameEventLog } from './frame-event-log.ts';

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
