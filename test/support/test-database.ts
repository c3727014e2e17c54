/**
 * A private database per test file on the shared PostgreSQL (127.0.0.1:5432), so tests never see
 * each other's rows and never touch anyone else's data.
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { createDatabase, type Sql } from '../../functions/platform/db/database.ts';
import { migrate } from '../../functions/platform/db/migrate.ts';

/** The shared server's maintenance database; `AIC_TEST_POSTGRES_URL` overrides it. */
export const TEST_POSTGRES_ADMIN_URL =
  process.env.AIC_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A uniquely named, empty (or migrated) database and a client of it. */
export interface TestDatabase {
  /** e.g. `aic_test_4242_9f3a1c0d`. */
  name: string;
  /** Connection URL of the database, for code under test that builds its own client. */
  url: string;
  /** A client configured like production ({@link createDatabase}), with a pool of 4. */
  sql: Sql;
  /** Closes `sql`, ends every other connection to the database and drops it. */
  drop(): Promise<void>;
}

/** Options of {@link createTestDatabase}. */
export interface CreateTestDatabaseOptions {
  /** Apply every migration before returning. Default false. */
  migrate?: boolean;
}

/** Creates a uniquely named database; call `drop()` in `afterAll`. */
export async function createTestDatabase(
  options: CreateTestDatabaseOptions = {},
): Promise<TestDatabase> {
  const name = `aic_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await withAdmin((admin) => admin`create database ${admin(name)}`);

  const url = new URL(TEST_POSTGRES_ADMIN_URL);
  url.pathname = `/${name}`;
  const db = createDatabase({ url: url.toString(), poolMax: 4, applicationName: name });
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    await db.close();
    // WITH (FORCE) (PostgreSQL 13+) terminates the connections code under test left open.
    await withAdmin((admin) => admin`drop database if exists ${admin(name)} with (force)`);
  };

  if (options.migrate) {
    try {
      await migrate(db.sql);
    } catch (error) {
      await drop();
      throw error;
    }
  }
  return { name, url: url.toString(), sql: db.sql, drop };
}

async function withAdmin(work: (admin: postgres.Sql) => Promise<unknown>): Promise<void> {
  const admin = postgres(TEST_POSTGRES_ADMIN_URL, { max: 1, onnotice: () => {} });
  try {
    await work(admin);
  } finally {
    await admin.end({ timeout: 5 });
  }
}
