/**
 * The cap on new sessions per user and UTC day (`SESSIONS_PER_USER_PER_DAY`, docs/design.md
 * section 5), enforced by the statements that claim a session: a frame's session claim and the
 * network-sample statement each include {@link quotaClaim} and {@link claimable}, and report
 * {@link claimStatus}, which {@link runClaim} reads. A session is its owner's by key
 * (`(user_id, session_id)`, migration 0006), so a claim only ever creates the owner's own session.
 *
 * A new session takes one unit of its owner's `session_quotas` row before it is inserted. The
 * upsert locks that row, and `ON CONFLICT DO UPDATE` judges the cap on the row's latest version,
 * so a user's concurrent claims queue on it and never pass the cap together. (A count of the
 * user's sessions could not do this in one statement: its snapshot is taken before the wait.)
 */
import { SessionQuotaExceededError } from '../../core/errors.ts';
import type { Sql } from './database.ts';
import { retryLostRaces } from './retry-conflicts.ts';

/** Default of `SESSIONS_PER_USER_PER_DAY`. */
export const DEFAULT_SESSIONS_PER_USER_PER_DAY = 1000;

/** Who claims which session, under which cap. */
export interface SessionClaim {
  sessionId: string;
  userId: string;
  /** New sessions one user may start per UTC day. */
  sessionsPerDay: number;
}

/**
 * The CTE `quota`: one unit of the owner's quota for today, taken only when the session is not
 * stored yet; it returns a row when the unit was granted. A new day starts the count again.
 */
export function quotaClaim(sql: Sql, claim: SessionClaim) {
  return sql`
    quota as (
      insert into session_quotas as q (user_id, day, sessions)
      select ${claim.userId}, aic_utc_day(now()), 1
      where not exists (
        select 1 from sessions where user_id = ${claim.userId} and session_id = ${claim.sessionId}
      )
      on conflict (user_id) do update set
        day = excluded.day,
        sessions = case when q.day = excluded.day then q.sessions + 1 else 1 end
      where q.day < excluded.day or q.sessions < ${claim.sessionsPerDay}
      returning 1
    )
  `;
}

/**
 * The condition on the session insert: the session is stored already (the insert then takes its
 * `ON CONFLICT` path) or a unit of quota was granted for it.
 */
export function claimable(sql: Sql, claim: SessionClaim) {
  return sql`(
    exists (select 1 from quota)
    or exists (
      select 1 from sessions where user_id = ${claim.userId} and session_id = ${claim.sessionId}
    )
  )`;
}

/** The status columns of a claiming statement, `stored` telling whether its row was written. */
export function claimStatus(sql: Sql, claim: SessionClaim, stored: 'stored' | 'inserted') {
  return sql`
    exists (select 1 from ${sql(stored)}) as stored,
    exists (select 1 from quota) as counted,
    exists (
      select 1 from sessions where user_id = ${claim.userId} and session_id = ${claim.sessionId}
    ) as known
  `;
}

/** What a claiming statement reports through {@link claimStatus}. */
export interface ClaimStatus {
  stored: boolean;
  /** A unit of quota was granted (the session was not stored when the statement began). */
  counted: boolean;
  /** The session was stored when the statement began. */
  known: boolean;
}

/** Seconds until the current UTC day ends, when the quota of a new day starts (at least 1). */
export function secondsUntilNextUtcDay(nowMs: number): number {
  const now = new Date(nowMs);
  const next = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
  return Math.max(1, Math.ceil((next - nowMs) / 1000));
}

/** What {@link runClaim} answers for a repeat: the row was stored before, by an earlier request. */
export const REPEAT = 'repeat';

/**
 * Runs a claiming statement (retrying lost races) and reads its status: the row when it stored,
 * {@link REPEAT} when it stored nothing because `storedBefore` finds the same row stored before (a
 * retry; asked in a statement of its own, which sees a concurrent first copy's commit).
 *
 * A statement that neither stored nor was granted quota for a session it did not know was over
 * the cap, or began just before the owner's own concurrent first use stored the session: it is run
 * once more, and a second such answer is the quota's refusal.
 *
 * @throws SessionQuotaExceededError when the owner has no new session left today.
 */
export async function runClaim<T extends ClaimStatus>(
  statement: () => Promise<readonly T[]>,
  sessionsPerDay: number,
  storedBefore?: () => Promise<boolean>,
): Promise<T | typeof REPEAT> {
  for (let attempt = 1; ; attempt++) {
    const [row] = await retryLostRaces(statement);
    if (!row) throw new Error('A claiming statement returned no status row');
    if (row.stored) return row;
    if (storedBefore && (await storedBefore())) return REPEAT;
    if (attempt === 2) {
      throw new SessionQuotaExceededError(sessionsPerDay, secondsUntilNextUtcDay(Date.now()));
    }
  }
}
