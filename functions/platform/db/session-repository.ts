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
