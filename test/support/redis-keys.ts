/** Cleanup of a test's or benchmark's own keys on the shared Redis (never FLUSHDB there). */
import { Redis } from 'ioredis';

/** The shared Redis the tests and benchmarks use. */
export const SHARED_REDIS_URL = 'redis://127.0.0.1:6379';

/** Deletes every key starting with `prefix` (SCAN, so the shared server is never blocked). */
export async function deleteKeysWithPrefix(
  prefix: string,
  url = SHARED_REDIS_URL,
): Promise<number> {
  const redis = new Redis(url);
  let cursor = '0';
  let deleted = 0;
  try {
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      if (keys.length > 0) deleted += await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
  return deleted;
}
