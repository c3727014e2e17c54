import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';

/** A Lua script and its SHA-1, as Redis names it in its script cache. */
export interface RedisScript {
  readonly source: string;
  readonly sha: string;
}

/** Names `source` by its SHA-1 once, at module load. */
export function redisScript(source: string): RedisScript {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('NOSCRIPT');
}

/**
 * Runs `script` with EVALSHA, so a call sends the script's name rather than its text and Redis
 * does not hash it again; on NOSCRIPT (a fresh or restarted server) EVAL runs it and puts it back
 * into the server's cache. Throws on any Redis failure.
 */
export async function runScript(
  redis: Redis,
  script: RedisScript,
  keys: readonly string[],
  args: readonly (string | number | Buffer)[],
): Promise<unknown> {
  try {
    return await redis.evalsha(script.sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (!isNoScript(error)) throw error;
    return redis.eval(script.source, keys.length, ...keys, ...args);
  }
}
