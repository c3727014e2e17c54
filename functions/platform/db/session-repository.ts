/**
 * Sessions (`sessions`): a session belongs to the first user that uses it; every statement is
 * parameterised, and reads of another user's session look exactly like reads of a missing one.
 */
import type { Sql } from './database.ts';

/** Whether `sessionId` may be used by `userId`: it is theirs, or nobody has used it yet. */
export async function sessionUsableBy(
  sql: Sql,
  sessionId: string,
  userId: string,
): Promise<boolean> {
  const [row] = await sql<
    { user_id: string }[]
  >`select user_id from sessions where session_id = ${sessionId}`;
  return row === undefined || row.user_id === userId;
}

/** Whether `sessionId` exists and belongs to `userId` (a read: it never claims the session). */
export async function sessionOwnedBy(
  sql: Sql,
  sessionId: string,
  userId: string,
): Promise<boolean> {
  const rows = await sql`
    select 1 from sessions where session_id = ${sessionId} and user_id = ${userId}
  `;
  return rows.length === 1;
}

/** A session's row as the statistics route reads it. */
export interface SessionTotals {
  startedAt: Date;
  lastSeenAt: Date;
  frames: number;
  fallbacks: number;
  bytesIn: number;
  bytesOut: number;
  ssimSum: number;
  latencyMsSum: number;
}

/** The totals of `sessionId` when it belongs to `userId`, else null (missing or someone else's). */
export async function sessionTotals(
  sql: Sql,
  sessionId: string,
  userId: string,
): Promise<SessionTotals | null> {
  const [row] = await sql<SessionTotals[]>`
    select started_at as "startedAt", last_seen_at as "lastSeenAt", frames_total as frames,
      fallbacks_total as fallbacks, bytes_in_total as "bytesIn", bytes_out_total as "bytesOut",
      ssim_sum as "ssimSum", latency_ms_sum as "latencyMsSum"
    from sessions
    where session_id = ${sessionId} and user_id = ${userId}
  `;
  return row ?? null;
}
