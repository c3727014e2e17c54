import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type GrpcServer, startGrpcServer } from '../../../functions/grpc/server.ts';
import { createDatabase } from '../../../functions/platform/db/database.ts';
import { migrate } from '../../../functions/platform/db/migrate.ts';
import { closeRuntime } from '../../../functions/platform/runtime.ts';
import { healthClient } from '../../support/grpc.ts';
import { type OwnPostgres, startOwnPostgres } from '../../support/own-postgres.ts';

// Health against a Postgres this file starts and stops itself: the shared server is never touched.
let pg: OwnPostgres;
let server: GrpcServer;
let client: grpc.Client;

beforeAll(async () => {
  pg = await startOwnPostgres();
  const db = createDatabase({ url: pg.url, poolMax: 1 });
  await migrate(db.sql);
  await db.close();
  process.env.DATABASE_URL = pg.url;
  delete process.env.REDIS_URL;
  process.env.DB_CONNECT_TRIES = '2';
  process.env.DB_CONNECT_BASE_DELAY_MS = '50';
  server = await startGrpcServer({ port: 0, healthIntervalMs: 100 });
  client = healthClient(`127.0.0.1:${server.port}`);
}, 60_000);

afterAll(async () => {
  client?.close();
  await server?.shutdown(1000);
  await closeRuntime();
  await pg?.destroy();
});

/** Watches `service` and resolves each time the stream says `status`. */
function watch(service: string) {
  const seen: string[] = [];
  const waiters: { status: string; resolve: () => void }[] = [];
  const call = (
    client as unknown as Record<
      string,
      (r: object) => grpc.ClientReadableStream<{ status: string }>
    >
  ).Watch?.({ service });
  if (!call) throw new Error('no Watch');
  call.on('data', ({ status }) => {
    seen.push(status);
    for (const waiter of waiters.filter((w) => w.status === status)) waiter.resolve();
  });
  call.on('error', () => undefined);
  return {
    seen,
    call,
    next: (status: string) =>
      new Promise<void>((resolve) => {
        waiters.push({ status, resolve });
      }),
  };
}

describe('grpc.health.v1.Health tied to readiness', () => {
  it('Watch reports SERVING, NOT_SERVING while its Postgres is stopped, and SERVING again after it restarts', async () => {
    const watcher = watch('auralink.aic.v1.AICCompressionService');
    const whole = watch('');
    if (watcher.seen.at(-1) !== 'SERVING') await watcher.next('SERVING');

    const down = watcher.next('NOT_SERVING');
    await pg.stop();
    await down;
    expect(whole.seen).toContain('NOT_SERVING');

    const up = watcher.next('SERVING');
    await pg.start();
    await up;
    // Before the first readiness check the server says NOT_SERVING.
    expect(watcher.seen.slice(watcher.seen.indexOf('SERVING'))).toEqual([
      'SERVING',
      'NOT_SERVING',
      'SERVING',
    ]);
    // Watch sends changes only: no repeats while the status holds.
    expect(whole.seen.filter((status, i) => status === whole.seen[i - 1])).toEqual([]);
    watcher.call.cancel();
    whole.call.cancel();
  }, 60_000);

  it('ends open Watch streams when the server drains, after telling them NOT_SERVING', async () => {
    const watcher = watch('');
    if (watcher.seen.at(-1) !== 'SERVING') await watcher.next('SERVING');
    const status = new Promise<grpc.StatusObject>((resolve) => watcher.call.on('status', resolve));
    const outcome = await server.shutdown(5000);
    expect(outcome).toBe('drained');
    expect((await status).code).toBe(grpc.status.OK);
    expect(watcher.seen.at(-1)).toBe('NOT_SERVING');
  });
});
