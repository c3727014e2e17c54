import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAlertEvaluation } from '../../../functions/app/alert-evaluator.ts';
import { DEFAULT_CONFIG } from '../../../functions/core/contracts/config.ts';
import { ROUTE_EXAMPLES } from '../../../functions/http/openapi-examples.ts';
import { migrate } from '../../../functions/platform/db/migrate.ts';
import { encodeFrame } from '../../support/frames.ts';
import { startTestApi, type TestApi } from '../../support/local-api.ts';
import { type OwnPostgres, startOwnPostgres } from '../../support/own-postgres.ts';

/**
 * The restore drill of docs/runbook.md on a real PostgreSQL server of its own: the service writes
 * its data, the server is backed up the way RDS backs up (a base backup plus archived WAL), the
 * service writes more, the server and its data directory are destroyed, and the database is
 * restored to a point in time between the two writes. The service then reads its data back
 * whole: every table's count and a sample of rows equal what they were at that point, and nothing
 * written after it came back.
 */

const USER = `drill-${randomUUID()}`;
const SESSION = randomUUID();
const LATE_SESSION = randomUUID();

let pg: OwnPostgres;
let sql: postgres.Sql;
let api: TestApi;
let archiveDir: string;
let backupDir: string;

/** A directory the server's user owns (the server writes its WAL archive and backups there). */
function serverDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (process.getuid?.() === 0) {
    const id = (flag: string) =>
      Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, id('-u'), id('-g'));
  }
  return dir;
}

beforeAll(async () => {
  archiveDir = serverDir('aic-wal-');
  backupDir = join(serverDir('aic-backup-'), 'base');
  pg = await startOwnPostgres({
    settings: ['wal_level=replica', 'archive_mode=on', `archive_command='cp %p ${archiveDir}/%f'`],
  });
  const admin = postgres(pg.url, { max: 1, onnotice: () => {} });
  await admin`create database auralink`;
  await admin.end();
  const url = pg.url.replace(/\/postgres$/, '/auralink');
  sql = postgres(url, { max: 2, onnotice: () => {} });
  await migrate(sql);
  api = await startTestApi({
    DATABASE_URL: url,
    REDIS_URL: undefined,
    RATE_LIMIT_ROUTE_OVERRIDES: '{"*":"exempt"}',
  });
}, 120_000);

afterAll(async () => {
  await api?.close();
  await sql?.end({ timeout: 5 });
  await pg?.destroy();
  for (const dir of [archiveDir, backupDir]) {
    if (dir) rmSync(dir.endsWith('base') ? join(dir, '..') : dir, { recursive: true, force: true });
  }
});

/**
 * Compresses the frames numbered `first` to `first + frames - 1` of `session` and sends one network
 * update, as a client would.
 */
async function useTheService(session: string, first: number, frames: number): Promise<void> {
  const frameData = (await encodeFrame('scene', { seed: first })).toString('base64');
  const put = await api.request('/api/v1/aic/config', {
    method: 'PUT',
    user: USER,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...DEFAULT_CONFIG, mode: 'aggressive' }),
  });
  expect(put.status).toBe(200);
  for (let i = first; i < first + frames; i++) {
    const response = await api.request('/api/v1/aic/compress', {
      method: 'POST',
      user: USER,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ session_id: session, frame_number: i, frame_data: frameData }),
    });
    expect(response.status).toBe(200);
  }
  const network = await api.request(`/api/v1/aic/sessions/${session}/network`, {
    method: 'PUT',
    user: USER,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(ROUTE_EXAMPLES.putSessionNetwork?.body),
  });
  expect(network.status).toBe(200);
  await api.metricsSettled();
}

/** Every table's row count and up to 25 rows of each, in a stable order. */
async function contents(): Promise<Record<string, { count: number; sample: unknown[] }>> {
  const tables = await sql<{ name: string }[]>`
    select tablename as name from pg_tables where schemaname = 'public' order by tablename`;
  const result: Record<string, { count: number; sample: unknown[] }> = {};
  for (const { name } of tables) {
    const [row] = await sql<{ count: number }[]>`select count(*)::int as count from ${sql(name)}`;
    const sample = await sql.unsafe(`select * from ${name} order by 1, 2 limit 25`);
    result[name] = { count: row?.count ?? 0, sample: [...sample] };
  }
  return result;
}

async function sessionAnswer(session: string): Promise<{ status: number; body: unknown }> {
  const response = await api.request(`/api/v1/aic/sessions/${session}`, { user: USER });
  return { status: response.status, body: await response.json() };
}

describe('the restore drill', () => {
  it('restores a destroyed database to a point in time, and the service reads it back whole', async () => {
    const files = pg.files;
    if (!files) throw new Error('The drill needs Debian’s PostgreSQL (pg_basebackup, WAL archive)');
    await useTheService(SESSION, 0, 4);
    await files.run('pg_basebackup', [
      ...['-h', '127.0.0.1', '-p', String(pg.port), '-U', 'postgres'],
      ...['-D', backupDir, '-X', 'stream', '-c', 'fast'],
    ]);

    // After the backup: these writes reach the restore through the archived WAL only.
    await useTheService(SESSION, 4, 3);
    await runAlertEvaluation(sql, { windowMinutes: 5, minFrames: 1 });
    const expected = await contents();
    const expectedSession = await sessionAnswer(SESSION);
    expect(expected.frame_metrics?.count).toBe(7);
    const [{ target } = { target: '' }] = await sql<{ target: string }[]>`
      select to_char(clock_timestamp() at time zone 'utc', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'
        as target`;
    await new Promise((resolve) => setTimeout(resolve, 50));

    // After the target: must not come back.
    await useTheService(LATE_SESSION, 0, 2);
    await waitForArchive(sql);

    // Destroy the server and its data directory.
    await pg.stop();
    rmSync(files.dataDir, { recursive: true, force: true });

    // Restore: the base backup, then the archived WAL replayed up to the target.
    await files.run('cp', ['-a', backupDir, files.dataDir]);
    await files.run('sh', [
      '-c',
      [
        `touch '${files.dataDir}/recovery.signal'`,
        `printf "%s\\n" "restore_command = 'cp ${archiveDir}/%f %p'"` +
          ` "recovery_target_time = '${target}'" "recovery_target_action = 'promote'"` +
          ` >> '${files.dataDir}/postgresql.auto.conf'`,
      ].join(' && '),
    ]);
    await pg.start();
    await waitForPromotion(sql);

    expect(await contents()).toEqual(expected);
    expect(await sessionAnswer(SESSION)).toEqual(expectedSession);
    expect((await sessionAnswer(LATE_SESSION)).status).toBe(404);
  }, 120_000);
});

/** Ends the current WAL segment and waits until the server has archived it. */
async function waitForArchive(client: postgres.Sql): Promise<void> {
  const [switched] = await client<{ segment: string }[]>`
    select pg_walfile_name(pg_switch_wal() - 1) as segment`;
  for (let i = 0; i < 100; i++) {
    const [row] = await client<{ done: boolean }[]>`
      select coalesce(last_archived_wal >= ${switched?.segment ?? ''}, false) as done
        from pg_stat_archiver`;
    if (row?.done) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('WAL archiving did not catch up');
}

/** Waits until recovery has reached its target and the server accepts writes. */
async function waitForPromotion(client: postgres.Sql): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      const [row] = await client<
        { recovering: boolean }[]
      >`select pg_is_in_recovery() as recovering`;
      if (row && !row.recovering) return;
    } catch {
      // Still starting.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('The restored server did not finish recovery');
}
