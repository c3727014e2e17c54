/**
 * The API the HTTP fuzz tests run against: the real handlers behind the local server, a private
 * database, the shared Redis under a private key prefix, and every route exempt from rate limiting
 * so fuzz traffic is judged by the handlers, not 429'd. Also the bearer tokens the generators use,
 * including tokens whose `sub` is hostile (unicode, NUL, the longest allowed).
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { routeList } from '../../../functions/core/contracts/routes.ts';
import { signToken } from '../../../functions/platform/jwt.ts';
import { startTestApi, type TestApi } from '../../support/local-api.ts';
import { createTestDatabase } from '../../support/test-database.ts';
import { closeClient } from './http-client.ts';

/** A running fuzz target. */
export interface FuzzApi {
  api: TestApi;
  /** Valid tokens: a plain user and users with hostile subjects. */
  tokens: string[];
  close(): Promise<void>;
}

/** Subjects a token may carry; an identity provider is trusted to sign them, not to pick them well. */
export const FUZZ_SUBJECTS = [
  'fuzz-user',
  'fuzz-user-2',
  'ünïcødé-用户-💥',
  'a\u0000b',
  '\u0000',
  '\ud800',
  'o\'brien"; --',
  '__proto__',
  'x'.repeat(128),
  ' ',
];

const REDIS_URL = 'redis://127.0.0.1:6379';

/** Starts the API; call `close()` in `afterAll`. */
export async function startFuzzApi(): Promise<FuzzApi> {
  const db = await createTestDatabase({ migrate: true });
  const prefix = `aic-test:fuzz:${randomUUID()}:`;
  let api: TestApi;
  try {
    api = await startTestApi({
      DATABASE_URL: db.url,
      REDIS_URL,
      REDIS_KEY_PREFIX: prefix,
      // Every route by name: compress has its own default rule that `*` does not replace.
      RATE_LIMIT_ROUTE_OVERRIDES: JSON.stringify(
        Object.fromEntries(routeList.map((route) => [route.id, 'exempt'])),
      ),
    });
  } catch (error) {
    await db.drop();
    throw error;
  }
  const tokens = await Promise.all(FUZZ_SUBJECTS.map((sub) => signToken(sub, api.jwt, 3600)));
  return {
    api,
    tokens,
    close: async () => {
      closeClient();
      await api.close();
      await db.drop();
      const redis = new Redis(REDIS_URL);
      const keys = await redis.keys(`${prefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
    },
  };
}
