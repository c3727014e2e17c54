import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AicError } from '../../../functions/core/errors.ts';
import { createDatabase, type Database } from '../../../functions/platform/db/database.ts';
import { migrate } from '../../../functions/platform/db/migrate.ts';
import { MIGRATIONS } from '../../../functions/platform/db/migrations/index.ts';
import { applyStatementTimeout } from '../../../functions/platform/db/statement-timeout.ts';
import { classifyDependencyError } from '../../../functions/platform/dependency-errors.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';

const TIMEOUT_MS = 300;

let db: TestDatabase;
/** A client whose connections open after the timeout was stored, as the service's do. */
let service: Database;

/** This role's settings in every database but the test's own. */
function otherSettings(sql: TestDatabase['sql']) {
  return sql<{ database: number; config: string[] }[]>`
    select setdatabase::int as database, setconfig as config from pg_db_role_setting
    where setrole = (select oid from pg_roles where rolname = current_user)
      and setdatabase <> (select oid from pg_database where datname = current_database())
    order by setdatabase
  `;
}

beforeAll(async () => {
  db = await createTestDatabase();
  service = createDatabase({ url: db.url, poolMax: 1 });
});

afterAll(async () => {
  await service?.close(0);
  await db?.drop();
});

describe('the statement timeout', () => {
  it('is stored by migrate as the default of its role in this database only', async () => {
    const before = await otherSettings(db.sql);
    await migrate(db.sql, { statementTimeoutMs: TIMEOUT_MS });
    const [row] = await db.sql<{ config: string[] }[]>`
      select setconfig as config from pg_db_role_setting
      where setrole = (select oid from pg_roles where rolname = current_user)
        and setdatabase = (select oid from pg_database where datname = current_database())
    `;
    expect(row?.config).toContain(`statement_timeout=${TIMEOUT_MS}`);
    expect(await otherSettings(db.sql)).toEqual(before);
    const [shown] = await service.sql<{ timeout: string }[]>`
      select current_setting('statement_timeout') as timeout
    `;
    expect(shown?.timeout).toBe(`${TIMEOUT_MS}ms`);
  });

  it('cuts off a statement over the limit, which the service answers as 503', async () => {
    const [fast] = await service.sql<{ n: number }[]>`select 1 as n from pg_sleep(0.01)`;
    expect(fast?.n).toBe(1);
    const started = performance.now();
    const error = await service.sql`select pg_sleep(5)`.catch((e: unknown) => e);
    expect(performance.now() - started).toBeLessThan(3000);
    expect(error).toMatchObject({ code: '57014' });
    const classified = classifyDependencyError(error);
    expect(classified).toBeInstanceOf(AicError);
    expect(classified).toMatchObject({ code: 'DEPENDENCY_UNAVAILABLE', httpStatus: 503 });
  });

  it('does not cut off the migrations, which run on the same role', async () => {
    const slow = { id: '9999_slow', sql: 'select pg_sleep(1);' };
    const result = await migrate(service.sql, {
      migrations: [...MIGRATIONS, slow],
      statementTimeoutMs: TIMEOUT_MS,
    });
    expect(result.applied).toEqual(['9999_slow']);
    // The lift is local to the migration's transaction: the connection is bounded again.
    const error = await service.sql`select pg_sleep(5)`.catch((e: unknown) => e);
    expect(error).toMatchObject({ code: '57014' });
  });

  it('refuses a value that is not a positive number of milliseconds', async () => {
    for (const bad of [0, -5, 1.5, Number.NaN]) {
      await expect(applyStatementTimeout(db.sql, bad)).rejects.toThrow(RangeError);
    }
  });
});
