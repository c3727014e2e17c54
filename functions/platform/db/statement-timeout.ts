/**
 * The bound on every statement of the service: Postgres's `statement_timeout`, stored as the
 * default of the service's role in its database (docs/design.md section 5).
 *
 * A role default is the one form that reaches Postgres through RDS Proxy without cost: the proxy
 * accepts only a few startup parameters (`statement_timeout` is not one of them) and pins a client
 * that runs `SET` to one backend connection, while a backend connection the proxy opens starts
 * with its role's defaults like any other.
 */
import type { Sql } from './database.ts';

/** Default of `DB_STATEMENT_TIMEOUT_MS`. */
export const DEFAULT_STATEMENT_TIMEOUT_MS = 5000;

/**
 * Makes `timeoutMs` the `statement_timeout` of `role` (default: the connected role) in the
 * connected database (`ALTER ROLE ... IN DATABASE ... SET`): never cluster-wide, and only for
 * sessions that start afterwards. Run under the migrations' lock, since two concurrent
 * `ALTER ROLE` of one role fail.
 *
 * @throws RangeError unless `timeoutMs` is a positive integer and `role` a plain lower-case name.
 */
export async function applyStatementTimeout(
  sql: Pick<Sql, 'unsafe'>,
  timeoutMs: number,
  role?: string,
): Promise<void> {
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0) {
    throw new RangeError(`statement_timeout must be a positive integer of ms: ${timeoutMs}`);
  }
  if (role !== undefined && !/^[a-z_][a-z0-9_]*$/.test(role)) {
    throw new RangeError(`Not a plain role name: ${role}`);
  }
  // ALTER ROLE takes no bind parameters: format() quotes the names, the number and the role name
  // are checked above.
  const target = role === undefined ? 'current_user' : `'${role}'`;
  await sql.unsafe(`
    do $$ begin
      execute format('alter role %I in database %I set statement_timeout = %s',
        ${target}, current_database(), ${timeoutMs});
    end $$
  `);
}
