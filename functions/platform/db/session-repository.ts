/**
 * Sessions (`sessions`): a session belongs to the first user that uses it; every statement is
 * parameterised, and reads of another user's session look exactly like reads of a missing one.
 */
import { SessionQuotaExceededError } from '../../core/errors.ts';
import type { Sql } from './database.ts';
import {
  type ClaimStatus,
  claimable,
  claimStatus,
  quotaClaim,
  runClaim,
  type SessionClaim,
  secondsUntilNextUtcDay,
} from './session-quota.ts';

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

/**
 * {@link sessionUsableBy} for a caller about to spend work on a frame of the session: false when
 * it is another user's; for a session nobody has used yet, the refusal the claim would give when
 * its owner has no new session left today. A read: the claim itself decides (docs/design.md
 * section 5), this only spares the engine's work for a frame that would be refused.
 *
 * @throws SessionQuotaExceededError when the session is new and `userId` has started
 *   `sessionsPerDay` sessions today.
 */
export async function sessionUsableWithinQuota(
  sql: Sql,
  sessionId: string,
  userId: string,
  sessionsPerDay: number,
): Promise<boolean> {
  const [row] = await sql<{ owner: string | null; spent: boolean }[]>`
    select (select user_id from sessions where session_id = ${sessionId}) as owner,
      exists (
        select 1 from session_quotas
        where user_id = ${userId} and day = aic_utc_day(now()) and sessions >= ${sessionsPerDay}
      ) as spent
  `;
  if (row?.owner != null) return row.owner === userId;
  if (row?.spent) {
    throw new SessionQuotaExceededError(sessionsPerDay, secondsUntilNextUtcDay(Date.now()));
  }
  return true;
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

/**
 * Claims `claim.sessionId` for `claim.userId` on first use, within the owner's daily quota of new
 * sessions: true when the session is theirs (now or before), false (nothing written) when it is
 * another user's. Frames are counted later, from the metrics stream, so a session is claimed
 * before its first frame is answered: the consumer stores frames of claimed sessions only. A known
 * session is only read (its `last_seen_at` is the consumer's to move).
 *
 * @throws SessionQuotaExceededError when the session is new and its owner has no new session left
 *   today (nothing is written).
 */
export async function claimSession(sql: Sql, claim: SessionClaim): Promise<boolean> {
  const [known] = await sql<{ user_id: string }[]>`
    select user_id from sessions where session_id = ${claim.sessionId}`;
  if (known) return known.user_id === claim.userId;
  const row = await runClaim(
    () => sql<ClaimStatus[]>`
      with ${quotaClaim(sql, claim)}, inserted as (
        insert into sessions (session_id, user_id)
        select ${claim.sessionId}, ${claim.userId}
        where ${claimable(sql, claim)}
        on conflict (session_id) do update set last_seen_at = now()
        where sessions.user_id = excluded.user_id
        returning session_id
      )
      select ${claimStatus(sql, claim, 'inserted')}
    `,
    claim.sessionsPerDay,
  );
  return row !== null;
}
