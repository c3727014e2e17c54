/**
 * Sessions (`sessions`): a session is its owner's (the tenant's) by key, `(user_id, session_id)`
 * (migration 0006), so two owners that choose the same id have two sessions; every statement is
 * parameterised and names the owner.
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

/**
 * Spares the engine's work for a frame that its session claim would refuse: returns when the
 * session is the owner's already or the owner has a new session left today (a read: the claim
 * itself decides, docs/design.md section 5).
 *
 * @throws SessionQuotaExceededError when the session is new and `userId` has started
 *   `sessionsPerDay` sessions today.
 */
export async function checkSessionQuota(
  sql: Sql,
  sessionId: string,
  userId: string,
  sessionsPerDay: number,
): Promise<void> {
  const [row] = await sql<{ known: boolean; spent: boolean }[]>`
    select exists (
        select 1 from sessions where user_id = ${userId} and session_id = ${sessionId}
      ) as known,
      exists (
        select 1 from session_quotas
        where user_id = ${userId} and day = aic_utc_day(now()) and sessions >= ${sessionsPerDay}
      ) as spent
  `;
  if (row && !row.known && row.spent) {
    throw new SessionQuotaExceededError(sessionsPerDay, secondsUntilNextUtcDay(Date.now()));
  }
}

/** Whether `userId` has a session `sessionId` (a read: it never claims the session). */
export async function sessionOwnedBy(
  sql: Sql,
  sessionId: string,
  userId: string,
): Promise<boolean> {
  const rows = await sql`
    select 1 from sessions where user_id = ${userId} and session_id = ${sessionId}
  `;
  return rows.length === 1;
}

/** A session's row as the statistics route reads it. */
export interface SessionTotals {
  startedAt: Date;
  lastSeenAt: Date;
  frames: number;
  fallbacks: number;
  dropped: number;
  unchanged: number;
  bytesIn: number;
  bytesOut: number;
  ssimSum: number;
  latencyMsSum: number;
}

/** The totals of `userId`'s session `sessionId`, else null (no such session). */
export async function sessionTotals(
  sql: Sql,
  sessionId: string,
  userId: string,
): Promise<SessionTotals | null> {
  const [row] = await sql<SessionTotals[]>`
    select started_at as "startedAt", last_seen_at as "lastSeenAt", frames_total as frames,
      fallbacks_total as fallbacks, dropped_total as dropped, unchanged_total as unchanged,
      bytes_in_total as "bytesIn", bytes_out_total as "bytesOut", ssim_sum as "ssimSum",
      latency_ms_sum as "latencyMsSum"
    from sessions
    where user_id = ${userId} and session_id = ${sessionId}
  `;
  return row ?? null;
}

/**
 * Creates the owner's session `claim.sessionId` on first use, within the owner's daily quota of new
 * sessions; a known session is only read (its `last_seen_at` is the metrics consumer's to move).
 * Frames are counted later, from the metrics stream, so a session is claimed before its first
 * frame is answered: the consumer stores frames of claimed sessions only.
 *
 * @throws SessionQuotaExceededError when the session is new and its owner has no new session left
 *   today (nothing is written).
 */
export async function claimSession(sql: Sql, claim: SessionClaim): Promise<void> {
  if (await sessionOwnedBy(sql, claim.sessionId, claim.userId)) return;
  await runClaim(
    () => sql<ClaimStatus[]>`
      with ${quotaClaim(sql, claim)}, inserted as (
        insert into sessions (session_id, user_id)
        select ${claim.sessionId}, ${claim.userId}
        where ${claimable(sql, claim)}
        on conflict (user_id, session_id) do update set last_seen_at = now()
        returning session_id
      )
      select ${claimStatus(sql, claim, 'inserted')}
    `,
    claim.sessionsPerDay,
  );
}
