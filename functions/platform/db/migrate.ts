/**
 * Applies the schema migrations. Safe to run from many places at once (the deploy step's
 * trigger, `npm run migrate`, the local runtime): a transaction-scoped advisory lock serialises the runners
 * and each migration is recorded in `schema_migrations` in the same transaction that applies it.
 */
import type { TransactionSql } from 'postgres';
import type { Sql } from './database.ts';
import { MIGRATIONS, type Migration } from './migrations/index.ts';
import { applyStatementTimeout } from './statement-timeout.ts';

/** Where {@link migrate} reports what it does. */
export interface MigrationLogger {
  info(message: string, context?: Record<string, unknown>): void;
}

/** Options of {@link migrate}. */
export interface MigrateOptions {
  logger?: MigrationLogger;
  /** The migrations to apply, oldest first. Default: {@link MIGRATIONS}. */
  migrations?: readonly Migration[];
  /**
   * Afterwards, make this the `statement_timeout` of the connected role in this database (the
   * service's bound, `DB_STATEMENT_TIMEOUT_MS`). Unset: the role's settings are left alone.
   */
  statementTimeoutMs?: number;
}

/** What one {@link migrate} call applied (empty when the schema was already current). */
export interface MigrateResult {
  applied: string[];
}

// hashtext() of a fixed name gives every runner the same lock key without a magic number.
const LOCK_NAME = 'auralink_aic.schema_migrations';

/**
 * Brings the schema up to date and returns the ids it applied, in order. Idempotent: a second run
 * (or a concurrent one that lost the race) applies nothing.
 */
export async function migrate(sql: Sql, options: MigrateOptions = {}): Promise<MigrateResult> {
  const migrations = options.migrations ?? MIGRATIONS;
  assertOrdered(migrations);

  await sql.begin(async (tx) => {
    await lockUnbounded(tx);
    // Only when missing: CREATE TABLE IF NOT EXISTS needs CREATE on the schema even when the table
    // exists, and the service's own role (which checks a current schema at start) has none.
    const [existing] = await tx`select to_regclass('schema_migrations') as name`;
    if (existing?.name) return;
    await tx`
      create table schema_migrations (
        id text primary key,
        applied_at timestamptz not null default now()
      )
    `;
  });

  const applied: string[] = [];
  for (const migration of migrations) {
    const didApply = await sql.begin(async (tx) => {
      await lockUnbounded(tx);
      const [done] = await tx`select 1 from schema_migrations where id = ${migration.id}`;
      if (done) return false;
      await tx.unsafe(migration.sql);
      await tx`insert into schema_migrations (id, applied_at) values (${migration.id}, now())`;
      return true;
    });
    if (didApply) {
      applied.push(migration.id);
      options.logger?.info('Applied migration', { id: migration.id });
    }
  }
  const { statementTimeoutMs } = options;
  if (statementTimeoutMs !== undefined) {
    await sql.begin(async (tx) => {
      await lockUnbounded(tx);
      await applyStatementTimeout(tx, statementTimeoutMs);
    });
    options.logger?.info('Applied the statement timeout', {
      statement_timeout_ms: statementTimeoutMs,
    });
  }
  return { applied };
}

/**
 * Starts a runner's transaction: lifts the role's `statement_timeout` for this transaction only
 * (DDL over a large table, and waiting for another runner, may take longer than the service's
 * statements may), then takes the lock, held until the transaction ends: a concurrent runner waits
 * here, then sees what this one recorded.
 */
export async function lockUnbounded(tx: TransactionSql): Promise<void> {
  await tx`set local statement_timeout = 0`;
  await tx`select pg_advisory_xact_lock(hashtext(${LOCK_NAME}))`;
}

function assertOrdered(migrations: readonly Migration[]): void {
  for (let i = 1; i < migrations.length; i++) {
    const previous = migrations[i - 1] as Migration;
    const current = migrations[i] as Migration;
    if (current.id <= previous.id) {
      throw new Error(`Migrations must be in strictly ascending id order: ${current.id}`);
    }
  }
}
