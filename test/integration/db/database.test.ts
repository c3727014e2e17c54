import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DependencyUnavailableError } from '../../../functions/core/errors.ts';
import { connectWithRetry, createDatabase } from '../../../functions/platform/db/database.ts';
import { freePort } from '../../support/own-postgres.ts';
import { createTestDatabase, type TestDatabase } from '../../support/test-database.ts';

let testDb: TestDatabase;

beforeAll(async () => {
  testDb = await createTestDatabase();
});

afterAll(async () => {
  await testDb?.drop();
});

describe('createDatabase', () => {
  it('answers a ping and runs queries on the shared server', async () => {
    const db = createDatabase({ url: testDb.url });
    try {
      await db.ping(2000);
      const [row] = await db.sql<{ n: number; big: number }[]>`
        select 1 as n, 9007199254740991::bigint as big
      `;
      expect(row).toEqual({ n: 1, big: Number.MAX_SAFE_INTEGER });
    } finally {
      await db.close();
    }
  });

  it('never creates named prepared statements, which would pin RDS Proxy connections', async () => {
    const db = createDatabase({ url: testDb.url, poolMax: 1 });
    try {
      for (let i = 0; i < 3; i++) await db.sql`select ${i}::int as i`;
      const [row] = await db.sql<{ n: number }[]>`
        select count(*)::int as n from pg_prepared_statements
      `;
      expect(row?.n).toBe(0);
    } finally {
      await db.close();
    }
  });

  it('reports its application name and the configured pool size', async () => {
    const db = createDatabase({ url: testDb.url, applicationName: 'aic-test-app', poolMax: 3 });
    try {
      const [row] = await db.sql<
        { name: string }[]
      >`select current_setting('application_name') as name`;
      expect(row?.name).toBe('aic-test-app');
      expect(db.sql.options.max).toBe(3);
      expect(db.sql.options.prepare).toBe(false);
    } finally {
      await db.close();
    }
  });

  it('keeps the URL sslmode unless ssl is given explicitly', async () => {
    const fromUrl = createDatabase({ url: 'postgres://u@db.example:5432/x?sslmode=require' });
    const explicit = createDatabase({ url: 'postgres://u@db.example:5432/x', ssl: true });
    expect(fromUrl.sql.options.ssl).toBe('require');
    expect(explicit.sql.options.ssl).toBe(true);
    await Promise.all([fromUrl.close(), explicit.close()]);
  });

  it('fails a ping on a closed port with DependencyUnavailableError', async () => {
    const db = createDatabase({ url: `postgres://postgres@127.0.0.1:${await freePort()}/x` });
    try {
      const error = await db.ping(2000).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DependencyUnavailableError);
      expect((error as DependencyUnavailableError).dependency).toBe('postgres');
      expect((error as Error).cause).toMatchObject({ code: 'ECONNREFUSED' });
    } finally {
      await db.close();
    }
  });

  describe('against a server that accepts connections and never answers', () => {
    let silent: Server;
    let port: number;
    const sockets = new Set<Socket>();

    beforeAll(async () => {
      silent = createServer((socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
      });
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      port = (silent.address() as { port: number }).port;
    });

    afterAll(async () => {
      for (const socket of sockets) socket.destroy();
      if (silent.listening) await new Promise((resolve) => silent.close(resolve));
    });

    it('gives up on a ping when its time runs out instead of hanging', async () => {
      const db = createDatabase({ url: `postgres://postgres@127.0.0.1:${port}/x` });
      const started = Date.now();
      const error = await db.ping(200).catch((e: unknown) => e);
      expect(Date.now() - started).toBeLessThan(1500);
      expect(error).toBeInstanceOf(DependencyUnavailableError);
      expect(((error as Error).cause as Error).message).toMatch(/within 200 ms/);
      await db.close(0);
    });
  });
});

describe('connectWithRetry', () => {
  it('fails after the configured number of tries, waiting per the backoff schedule', async () => {
    const db = createDatabase({ url: `postgres://postgres@127.0.0.1:${await freePort()}/x` });
    const waits: number[] = [];
    const retries: number[] = [];
    try {
      const error = await connectWithRetry(
        db,
        { tries: 4, baseDelayMs: 5, maxDelayMs: 12 },
        {
          sleep: async (ms) => {
            waits.push(ms);
          },
          onRetry: ({ attempt, error }) => {
            expect(error).toBeInstanceOf(DependencyUnavailableError);
            retries.push(attempt);
          },
        },
      ).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(DependencyUnavailableError);
      expect((error as DependencyUnavailableError).dependency).toBe('postgres');
      expect((error as Error).cause).toBeInstanceOf(DependencyUnavailableError);
      expect(waits).toEqual([5, 10, 12]);
      expect(retries).toEqual([1, 2, 3]);
    } finally {
      await db.close();
    }
  });

  it('pings exactly as many times as there are tries', async () => {
    let pings = 0;
    const failing = {
      ping: async () => {
        pings++;
        throw new DependencyUnavailableError('postgres');
      },
    };
    await expect(
      connectWithRetry(failing, { tries: 5, baseDelayMs: 0, maxDelayMs: 0 }),
    ).rejects.toBeInstanceOf(DependencyUnavailableError);
    expect(pings).toBe(5);
  });

  it('returns at once when the server is up', async () => {
    const db = createDatabase({ url: testDb.url });
    const waits: number[] = [];
    try {
      await connectWithRetry(db, undefined, {
        sleep: async (ms) => {
          waits.push(ms);
        },
      });
      expect(waits).toEqual([]);
    } finally {
      await db.close();
    }
  });

  it('succeeds on a later try once the dependency recovers', async () => {
    let pings = 0;
    const flaky = {
      ping: async () => {
        pings++;
        if (pings < 3) throw new DependencyUnavailableError('postgres');
      },
    };
    await connectWithRetry(flaky, { tries: 5, baseDelayMs: 1, maxDelayMs: 2 });
    expect(pings).toBe(3);
  });
});
