import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DependencyUnavailableError } from '../../../functions/core/errors.ts';
import {
  connectWithRetry,
  createDatabase,
  type Database,
} from '../../../functions/platform/db/database.ts';
import { type OwnPostgres, startOwnPostgres } from '../../support/own-postgres.ts';

// A private server on its own port: stopping it cannot disturb the shared one on 5432.
let server: OwnPostgres;
let db: Database;

beforeAll(async () => {
  server = await startOwnPostgres();
  db = createDatabase({ url: server.url, connectTimeoutS: 2 });
});

afterAll(async () => {
  await db?.close();
  await server?.destroy();
});

describe('a Postgres outage', () => {
  it('fails pings while the server is down and recovers with the same client', async () => {
    await db.sql`create table if not exists outage_probe (id int primary key)`;
    await db.sql`insert into outage_probe values (1) on conflict do nothing`;
    await db.ping(1000);

    await server.stop();
    await expect(db.ping(1000)).rejects.toBeInstanceOf(DependencyUnavailableError);
    await expect(db.sql`select 1`).rejects.toThrow();

    await server.start();
    await db.ping(2000);
    const [row] = await db.sql<{ id: number }[]>`select id from outage_probe`;
    expect(row).toEqual({ id: 1 });
  });

  it('lets connectWithRetry wait for a server that comes back between tries', async () => {
    await server.stop();
    const attempts: number[] = [];
    await connectWithRetry(
      db,
      { tries: 5, baseDelayMs: 1, maxDelayMs: 1 },
      {
        pingTimeoutMs: 1000,
        onRetry: ({ attempt }) => attempts.push(attempt),
        sleep: async () => {
          // The server returns during the second wait.
          if (attempts.length === 2) await server.start();
        },
      },
    );
    expect(attempts).toEqual([1, 2]);
    const [row] = await db.sql<{ ok: number }[]>`select 1 as ok`;
    expect(row?.ok).toBe(1);
  });
});
