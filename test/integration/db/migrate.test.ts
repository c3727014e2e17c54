import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { migrate } from '../../../functions/platform/db/migrate.ts';
import { MIGRATIONS } from '../../../functions/platform/db/migrations/index.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';

const run = promisify(execFile);

describe('migrate', () => {
  const databases: TestDatabase[] = [];
  const fresh = async () => {
    const db = await createTestDatabase();
    databases.push(db);
    return db;
  };

  afterAll(async () => {
    await Promise.all(databases.map((db) => db.drop()));
  });

  it('applies every migration to a fresh database and records each one', async () => {
    const db = await fresh();
    const logged: string[] = [];
    const result = await migrate(db.sql, {
      logger: { info: (_message, context) => logged.push(String(context?.id)) },
    });
    expect(result.applied).toEqual(MIGRATIONS.map((m) => m.id));
    expect(logged).toEqual(result.applied);

    const rows = await db.sql<{ id: string; applied_at: Date }[]>`
      select id, applied_at from schema_migrations order by id
    `;
    expect(rows.map((r) => r.id)).toEqual(result.applied);
    expect(rows.every((r) => r.applied_at instanceof Date)).toBe(true);

    const tables = await db.sql<{ table_name: string }[]>`
      select table_name from information_schema.tables
      where table_schema = 'public' order by table_name
    `;
    expect(tables.map((t) => t.table_name)).toEqual([
      'alerts',
      'compression_configs',
      'frame_latency_hourly',
      'frame_metrics',
      'frame_metrics_hourly',
      'frame_metrics_user_hourly',
      'network_samples',
      'schema_migrations',
      'session_quotas',
      'sessions',
    ]);
  });

  it('creates the indexes the owner-filtered dashboard queries rely on', async () => {
    const db = await fresh();
    await migrate(db.sql);
    const indexes = await db.sql<{ indexname: string; indexdef: string }[]>`
      select indexname, indexdef from pg_indexes where schemaname = 'public'
    `;
    const definition = (name: string) => indexes.find((i) => i.indexname === name)?.indexdef;
    expect(definition('frame_metrics_user_recorded_idx')).toContain('(user_id, recorded_at DESC)');
    expect(definition('frame_metrics_session_recorded_idx')).toContain(
      '(session_id, recorded_at DESC)',
    );
    expect(definition('sessions_user_last_seen_idx')).toContain('(user_id, last_seen_at DESC)');
    expect(definition('network_samples_session_recorded_idx')).toContain(
      '(session_id, recorded_at DESC)',
    );
    expect(definition('frame_metrics_hourly_session_hour_idx')).toContain('(session_id, hour)');
    expect(definition('frame_metrics_user_hourly_pkey')).toContain('(user_id, hour)');
    expect(definition('session_quotas_pkey')).toContain('(user_id)');
    expect(definition('alerts_one_open_per_type_idx')).toMatch(
      /UNIQUE INDEX .*\(user_id, type\) WHERE \(resolved_at IS NULL\)/,
    );
  });

  it('does nothing when run again', async () => {
    const db = await fresh();
    await migrate(db.sql);
    const [before] =
      await db.sql`select count(*)::int as n, max(applied_at) as at from schema_migrations`;
    expect(await migrate(db.sql)).toEqual({ applied: [] });
    const [after] =
      await db.sql`select count(*)::int as n, max(applied_at) as at from schema_migrations`;
    expect(after).toEqual(before);
  });

  it('applies each migration once when several runners start at the same moment', async () => {
    const db = await fresh();
    const results = await Promise.all(Array.from({ length: 4 }, () => migrate(db.sql)));
    const applied = results.flatMap((r) => r.applied);
    expect(applied.sort()).toEqual(MIGRATIONS.map((m) => m.id).sort());
    const [row] = await db.sql<{ n: number }[]>`select count(*)::int as n from schema_migrations`;
    expect(row?.n).toBe(MIGRATIONS.length);
  });

  it('applies only the migrations a database has not seen yet', async () => {
    const db = await fresh();
    const extra = { id: '9999_probe', sql: 'create table probe (id int primary key);' };
    await migrate(db.sql);
    expect(await migrate(db.sql, { migrations: [...MIGRATIONS, extra] })).toEqual({
      applied: ['9999_probe'],
    });
  });

  it('rolls a failing migration back completely and leaves it unrecorded', async () => {
    const db = await fresh();
    const broken = {
      id: '9999_broken',
      sql: 'create table half_done (id int); select * from no_such_table;',
    };
    await expect(migrate(db.sql, { migrations: [...MIGRATIONS, broken] })).rejects.toThrow(
      /no_such_table/,
    );
    const [row] = await db.sql`
      select to_regclass('half_done') as half_done,
        (select count(*)::int from schema_migrations where id = '9999_broken') as recorded
    `;
    expect(row).toEqual({ half_done: null, recorded: 0 });
  });

  it('refuses migrations that are out of order', async () => {
    const db = await fresh();
    await expect(
      migrate(db.sql, {
        migrations: [
          { id: '0002_b', sql: 'select 1' },
          { id: '0001_a', sql: 'select 1' },
        ],
      }),
    ).rejects.toThrow(/ascending/);
  });

  it('keys sessions by tenant from 0006 on, keeping every session, sample and frame stored before', async () => {
    const db = await fresh();
    const at0005 = MIGRATIONS.findIndex((m) => m.id === '0006_tenant_sessions');
    expect(at0005).toBeGreaterThan(0);
    await migrate(db.sql, { migrations: MIGRATIONS.slice(0, at0005) });
    const session = randomUUID();
    const sample = (userId: string) => db.sql`
      insert into network_samples (session_id, user_id, available_bandwidth_kbps, rtt_ms,
        packet_loss_percent, jitter_ms, fps, estimated_bandwidth_kbps, network_condition,
        idempotency_key)
      values (${session}, ${userId}, 1000, 10, 0, 1, 30, 1000, 0.5, 'update-1')`;
    const frame = (userId: string) => db.sql`
      insert into frame_metrics (session_id, user_id, frame_number, event_id, mode, format, width,
        height, original_bytes, compressed_bytes, compression_ratio, budget_bytes, within_budget,
        decode_ms, encode_ms, metrics_ms, total_ms)
      values (${session}, ${userId}, 0, 'f:0', 'adaptive', 'jpeg', 640, 360, 100, 50, 0.5, 100,
        true, 1, 1, 1, 3)`;
    await db.sql`insert into sessions (session_id, user_id, frames_total) values (${session}, 'early', 1)`;
    await sample('early');
    await frame('early');
    // Before 0006 a session id is one tenant's only.
    await expect(
      db.sql`insert into sessions (session_id, user_id) values (${session}, 'later')`,
    ).rejects.toMatchObject({ code: '23505' });

    await migrate(db.sql);
    const [kept] = await db.sql`
      select (select frames_total::int from sessions where user_id = 'early') as frames,
        (select count(*)::int from network_samples) as samples,
        (select count(*)::int from frame_metrics) as rows`;
    expect(kept).toEqual({ frames: 1, samples: 1, rows: 1 });
    // Another tenant may now have its own session under that id, with the same sample key and
    // the same frame, and one tenant still cannot have the id twice or the key twice.
    await db.sql`insert into sessions (session_id, user_id) values (${session}, 'later')`;
    await sample('later');
    await frame('later');
    await expect(
      db.sql`insert into sessions (session_id, user_id) values (${session}, 'early')`,
    ).rejects.toMatchObject({ code: '23505' });
    await expect(sample('early')).rejects.toMatchObject({ code: '23505' });
    await expect(frame('early')).rejects.toMatchObject({ code: '23505' });
  });

  describe('npm run migrate', () => {
    const cli = (env: Record<string, string | undefined>) =>
      run(process.execPath, ['--import', 'tsx', 'scripts/migrate.ts'], {
        env: { ...process.env, ...env },
        cwd: process.cwd(),
      });

    it('exits 1 with a clear message when DATABASE_URL is not set', async () => {
      const error = (await cli({ DATABASE_URL: '' }).catch((e: unknown) => e)) as {
        code: number;
        stderr: string;
      };
      expect(error.code).toBe(1);
      expect(error.stderr).toContain('DATABASE_URL is not set');
    });

    it('applies the migrations, says which, and exits 0', async () => {
      const db = await fresh();
      const first = await cli({ DATABASE_URL: db.url });
      expect(first.stdout).toContain('0001_initial');
      const second = await cli({ DATABASE_URL: db.url });
      expect(second.stdout).toContain('nothing to apply');
    });
  });
});
