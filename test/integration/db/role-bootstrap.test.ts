import { randomBytes, randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAlertEvaluation } from '../../../functions/app/alert-evaluator.ts';
import { pruneExpiredFrameRows } from '../../../functions/app/frame-retention.ts';
import { routeList } from '../../../functions/core/contracts/routes.ts';
import {
  APP_ROLE,
  bootstrapRoles,
  MIGRATOR_ROLE,
} from '../../../functions/platform/db/bootstrap-roles.ts';
import { createDatabase, type Database } from '../../../functions/platform/db/database.ts';
import { migrate } from '../../../functions/platform/db/migrate.ts';
import { MIGRATIONS } from '../../../functions/platform/db/migrations/index.ts';
import { encodeFrame } from '../../support/frames.ts';
import { startTestApi, type TestApi } from '../../support/local-api.ts';
import { requestFor } from '../../support/route-requests.ts';
import {
  createTestDatabase,
  TEST_POSTGRES_ADMIN_URL,
  type TestDatabase,
} from '../../support/test-database.ts';

/**
 * The deployment's database roles on the real Postgres, as on RDS: a master user that may create
 * roles but is no superuser runs the bootstrap; the migrations then run as `aic_migrator` and the
 * service as `aic_app`. The local server trusts 127.0.0.1, so the logins' passwords are checked by
 * their stored verifiers, not by logging in with them.
 */

/** Stands for the RDS master user: CREATEROLE, not a superuser. Roles are the cluster's. */
const MASTER = 'aic_test_master';

const dbs: TestDatabase[] = [];
const clients: Database[] = [];
let superuser: postgres.Sql;

beforeAll(async () => {
  superuser = postgres(TEST_POSTGRES_ADMIN_URL, { max: 1, onnotice: () => {} });
  await superuser.unsafe(`
    do $$ begin
      create role ${MASTER} login createrole;
    exception when duplicate_object or unique_violation then null;
    end $$`);
});

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close()));
  for (const db of dbs) await db.drop();
  await superuser?.end({ timeout: 5 });
});

/** A new database owned by the master user, as RDS creates the instance's database. */
async function masterDatabase(): Promise<TestDatabase> {
  const db = await createTestDatabase();
  dbs.push(db);
  await superuser.unsafe(`alter database ${db.name} owner to ${MASTER}`);
  return db;
}

/** A client of `db` logged in as `user`. */
function connectAs(db: TestDatabase, user: string): Database {
  const url = new URL(db.url);
  url.username = user;
  const client = createDatabase({ url: url.toString(), poolMax: 2 });
  clients.push(client);
  return client;
}

const logins = () => ({
  app: randomBytes(24).toString('base64url'),
  migrator: randomBytes(24).toString('base64url'),
});

async function owners(db: TestDatabase): Promise<Record<string, string>> {
  const rows = await db.sql<{ name: string; owner: string }[]>`
    select relname as name, pg_get_userbyid(relowner) as owner
      from pg_class where relnamespace = 'public'::regnamespace and relkind in ('r', 'p')`;
  return Object.fromEntries(rows.map((row) => [row.name, row.owner]));
}

describe('the database bootstrap', () => {
  it('hands a database the master migrated to the migrator, whose new tables the app may use', async () => {
    const db = await masterDatabase();
    await migrate(connectAs(db, MASTER).sql);
    const master = connectAs(db, MASTER);

    const first = await bootstrapRoles(master.sql, { logins: logins(), statementTimeoutMs: 4321 });
    expect(first.reassigned).toEqual(expect.arrayContaining(['table sessions', 'table alerts']));
    expect(first.reassigned.some((name) => name.startsWith('function aic_hour('))).toBe(true);
    expect(new Set(Object.values(await owners(db)))).toEqual(new Set([MIGRATOR_ROLE]));
    expect((await bootstrapRoles(master.sql, { statementTimeoutMs: 4321 })).reassigned).toEqual([]);

    const probe = {
      id: '9999_probe',
      sql: `alter table sessions add column probe int;
            create table probe (id int generated always as identity primary key, v int);`,
    };
    const migrator = connectAs(db, MIGRATOR_ROLE);
    expect(await migrate(migrator.sql, { migrations: [...MIGRATIONS, probe] })).toEqual({
      applied: ['9999_probe'],
    });

    const app = connectAs(db, APP_ROLE);
    await app.sql`insert into probe (v) values (1)`;
    expect(await app.sql`select probe from sessions`).toEqual([]);
    const [timeout] = await app.sql<{ statement_timeout: string }[]>`show statement_timeout`;
    expect(timeout?.statement_timeout).toBe('4321ms');
    await expect(app.sql`create table intruder (id int)`).rejects.toMatchObject({
      code: '42501',
    });
    await expect(app.sql`alter table probe add column intruder int`).rejects.toMatchObject({
      code: '42501',
    });
  });

  it('lets the migrator build a new database from nothing', async () => {
    const db = await masterDatabase();
    await bootstrapRoles(connectAs(db, MASTER).sql, { statementTimeoutMs: 5000 });
    const { applied } = await migrate(connectAs(db, MIGRATOR_ROLE).sql);
    expect(applied).toEqual(MIGRATIONS.map((migration) => migration.id));
    expect(new Set(Object.values(await owners(db)))).toEqual(new Set([MIGRATOR_ROLE]));
    await connectAs(db, APP_ROLE)
      .sql`insert into sessions (session_id, user_id) values (${randomUUID()}, 't')`;
  });

  it('gives both roles a login whose stored verifier changes with a new password', async () => {
    const db = await masterDatabase();
    const verifiers = async () =>
      superuser<{ rolname: string; rolcanlogin: boolean; rolpassword: string }[]>`
        select rolname, rolcanlogin, rolpassword from pg_authid
         where rolname in (${APP_ROLE}, ${MIGRATOR_ROLE}) order by rolname`;
    await bootstrapRoles(connectAs(db, MASTER).sql, { logins: logins(), statementTimeoutMs: 5000 });
    const before = await verifiers();
    await bootstrapRoles(connectAs(db, MASTER).sql, { logins: logins(), statementTimeoutMs: 5000 });
    const after = await verifiers();
    for (const [index, row] of after.entries()) {
      expect(row.rolcanlogin).toBe(true);
      expect(row.rolpassword).toMatch(/^SCRAM-SHA-256\$/);
      expect(row.rolpassword).not.toBe(before[index]?.rolpassword);
    }
  });
});

describe('the service as the application role', () => {
  let db: TestDatabase;
  let api: TestApi;

  beforeAll(async () => {
    db = await masterDatabase();
    await bootstrapRoles(connectAs(db, MASTER).sql, { statementTimeoutMs: 5000 });
    await migrate(connectAs(db, MIGRATOR_ROLE).sql);
    const url = new URL(db.url);
    url.username = APP_ROLE;
    api = await startTestApi({
      DATABASE_URL: url.toString(),
      REDIS_URL: undefined,
      RATE_LIMIT_ROUTE_OVERRIDES: '{"*":"exempt"}',
    });
  }, 60_000);

  afterAll(async () => {
    await api?.close();
  });

  it('answers every route of the route table without a server error', async () => {
    const user = `role-user-${randomUUID()}`;
    const ids = {
      sessionId: randomUUID(),
      alertId: randomUUID(),
      frameData: (await encodeFrame('scene', { seed: 3 })).toString('base64'),
    };
    for (const route of routeList) {
      const [path, body, query] = requestFor(route, ids);
      const response = await api.request(`${path}${query}`, {
        method: route.method,
        user,
        ...(body === undefined
          ? {}
          : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
      });
      const text = await response.text();
      expect(response.status, `${route.method} ${route.path}: ${text.slice(0, 300)}`).toBeLessThan(
        500,
      );
    }
    await api.metricsSettled();
    const [session] = await db.sql<{ frames_total: number }[]>`
      select frames_total::int from sessions where user_id = ${user}`;
    expect(session?.frames_total).toBeGreaterThan(0);
  });

  it('runs the alert evaluation and the frame retention', async () => {
    const app = connectAs(db, APP_ROLE);
    await expect(runAlertEvaluation(app.sql, { windowMinutes: 5, minFrames: 1 })).resolves.toEqual(
      expect.objectContaining({ alertsOpened: expect.any(Number) }),
    );
    await expect(pruneExpiredFrameRows(app.sql, 48)).resolves.toEqual(expect.any(Number));
  });
});
