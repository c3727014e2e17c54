/**
 * Retrying statements that race on first use of a row.
 *
 * Two first uses of one session at once (two network updates, or two frames) each try to create the
 * session row: PostgreSQL may answer the loser with a unique violation on the session's second
 * unique index (ON CONFLICT only arbitrates the primary key) or with a deadlock between the row
 * locks of the upsert and of the foreign key check. Both mean "the other one won"; running the
 * statement again takes the ON CONFLICT path.
 */

// unique_violation, deadlock_detected, serialization_failure
const RETRYABLE = new Set(['23505', '40P01', '40001']);

/** Whether a postgres.js error is a lost race that a retry resolves. */
export function isLostRace(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && RETRYABLE.has(code);
}

/** Runs `statement`, again (up to `tries` times in all) when it lost a race with a concurrent one. */
export async function retryLostRaces<T>(statement: () => Promise<T>, tries = 3): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await statement();
    } catch (error) {
      if (attempt >= tries || !isLostRace(error)) throw error;
    }
  }
}
