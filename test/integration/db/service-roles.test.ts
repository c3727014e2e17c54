import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';

/**
 * The application role of migration 0007 on the real Postgres: what the services do works, and
 * nothing else does (no DDL, nothing outside the service's tables).
 */

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase({ migrate: true });
});

afterAll(async () => {
  await db?.drop();
});

/** Runs `statement` as `aic_app` in a transaction that is rolled back; its error, or undefined. */
async function asApp(statement: string): Promise<{ code?: string } | undefined> {
  try {
    await db.sql.begin(async (tx) => {
      await tx.unsafe('set local role aic_app');
      await tx.unsafe(statement);
      throw new Error('rollback');
    });
  } catch (error) {
    return (error as Error).message === 'rollback' ? undefined : (error as { code?: string });
  }
  return undefined;
}

describe('the application role', () => {
  it('reads and writes the service’s tables and calls its functions', async () => {
    const session = randomUUID();
    expect(
      await asApp(`insert into sessions (session_id, user_id) values ('${session}', 't')`),
    ).toBeUndefined();
    expect(await asApp('select count(*) from frame_metrics_hourly')).toBeUndefined();
    expect(
      await asApp(`update compression_configs set enabled = true where user_id = 't'`),
    ).toBeUndefined();
    expect(await asApp('delete from alerts where false')).toBeUndefined();
    expect(await asApp('select aic_hour(now()), aic_latency_bucket(12)')).toBeUndefined();
    expect(await asApp('select max(id) from schema_migrations')).toBeUndefined();
  });

  it('reads and writes the columns migrations after 0007 added to its tables', async () => {
    for (const statement of [
      `insert into compression_configs (user_id, enabled, mode, target_compression_ratio,
        max_latency_ms, min_quality_score, allowed_formats, enable_predictive_compression,
        enable_perceptual_optimization, opt_out, on_budget_miss)
        values ('t', true, 'adaptive', 0.8, 20, 0.85, '{jpeg}', true, true, false, 'drop')`,
      `update frame_metrics set status = 'dropped', drop_reason = 'no_candidate_fits' where false`,
      'select status, drop_reason from frame_metrics',
      'update frame_metrics_hourly set dropped = dropped + 1 where false',
      'update frame_metrics_user_hourly set dropped = dropped + 1 where false',
      'select dropped_total from sessions',
      `update compression_configs set unchanged_ssim_screen = 0.99, unchanged_ssim_video = null
        where user_id = 't'`,
      `update frame_metrics set status = 'unchanged' where false`,
      'update frame_metrics_hourly set unchanged = unchanged + 1 where false',
      'update frame_metrics_user_hourly set unchanged = unchanged + 1 where false',
      'select unchanged_total from sessions',
    ]) {
      expect(await asApp(statement), statement).toBeUndefined();
    }
  });

  it('cannot run DDL: create, alter, drop or truncate', async () => {
    for (const statement of [
      'create table intruder (id int)',
      'alter table sessions add column intruder text',
      'drop table alerts',
      'truncate frame_metrics',
      'create index intruder on sessions (user_id)',
      'create function intruder() returns int language sql as $$ select 1 $$',
    ]) {
      expect((await asApp(statement))?.code, statement).toBe('42501');
    }
  });

  it('cannot read outside the service’s tables or change the migrations', async () => {
    for (const statement of [
      'select * from pg_authid',
      `insert into schema_migrations (id) values ('9999_intruder')`,
      'delete from schema_migrations',
    ]) {
      expect((await asApp(statement))?.code, statement).toBe('42501');
    }
  });
});
