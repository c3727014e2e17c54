/**
 * The setup most HTTP test files share: a local API on a fresh migrated database of its own and the
 * shared Redis under a key prefix of its own, started before the file's tests and closed, dropped
 * and cleaned after them.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll } from 'vitest';
import { startTestApi, type TestApi } from './local-api.ts';
import { deleteKeysWithPrefix, SHARED_REDIS_URL } from './redis-keys.ts';
import { createTestDatabase, type TestDatabase } from './test-database.ts';

/** What a test file uses of its API, available once its `beforeAll` ran. */
export interface ApiFixture {
  readonly api: TestApi;
  readonly db: TestDatabase;
  /** The Redis key prefix of the file: only keys under it are written, and deleted after. */
  readonly prefix: string;
}

/**
 * Registers the file's `beforeAll` and `afterAll` for an API named `name` (the prefix says which
 * file wrote a key), with `env` added to its environment.
 */
export function useTestApi(name: string, env: Record<string, string> = {}): ApiFixture {
  const prefix = `aic-test:${name}:${randomUUID()}:`;
  let api: TestApi | undefined;
  let db: TestDatabase | undefined;
  beforeAll(async () => {
    db = await createTestDatabase({ migrate: true });
    api = await startTestApi({
      DATABASE_URL: db.url,
      REDIS_URL: SHARED_REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
      ...env,
    });
  }, 60_000);
  afterAll(async () => {
    await api?.close();
    await db?.drop();
    await deleteKeysWithPrefix(prefix);
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('The test API is not started: use it inside a test');
    return value;
  };
  return {
    get api() {
      return started(api);
    },
    get db() {
      return started(db);
    },
    prefix,
  };
}
