/**
 * The live network state of a session in Redis: a cache of what Postgres holds, never the record.
 *
 * Key `network:<session>` (under the configured prefix) is a hash: `state`, the estimator state as
 * JSON, and `seq`, the id of the newest `network_samples` row folded into it. It expires
 * {@link NETWORK_STATE_TTL_SECONDS} after its last write. Writes are compare-and-set on `seq` (one
 * Lua call): a writer states the `seq` it read, and when another writer got there first, or the
 * writer knows its base missed a stored sample, the key is deleted instead, so the next reader
 * rebuilds the state from Postgres, where every sample is. Racing updates of one session therefore
 * never leave a cached state that misses one of them.
 */
import type { Redis } from 'ioredis';
import type { EngineModel } from '../../core/engine/model.ts';
import {
  type NetworkEstimatorState,
  replayEstimator,
  restoreEstimator,
} from '../../core/network/estimator.ts';
import type { Sql } from '../db/database.ts';
import { recentNetworkSamples } from '../db/network-repository.ts';
import { redisScript, runScript } from '../redis/script.ts';
import { modelKey, parseModel } from '../redis/session-model.ts';
import type { Runtime } from '../runtime.ts';

/** How long a session's live network state stays in Redis after its last write. */
export const NETWORK_STATE_TTL_SECONDS = 3600;

/** Samples replayed from Postgres to rebuild a state that Redis does not have. */
export const REBUILD_SAMPLES = 20;

/**
 * The Redis key of a session's live network state (before the configured prefix): the session of
 * its owner (the tenant), whose id ends the key at a fixed length, so no two pairs share a key.
 */
export const networkStateKey = (userId: string, sessionId: string) =>
  `network:${userId}:${sessionId}`;

/** The key compress-service stores the session's learned engine model under. */

/** Stated for an unknown `seq`: it never matches, so the write deletes the key. */
const NEVER_MATCHES = 'none';

// KEYS[1] the state hash; ARGV: expected seq ('' = absent), state JSON, new seq, TTL seconds.
const COMPARE_AND_SET = redisScript(`
local current = redis.call('HGET', KEYS[1], 'seq')
if current == false then current = '' end
if current ~= ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 0
end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'seq', ARGV[3])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
return 1
`);

/** What a read of the live state found. */
export interface LiveRead {
  /** The cached state; undefined when absent, corrupt or Redis did not answer. */
  state: NetworkEstimatorState | undefined;
  /** The `seq` to state when writing back ('' when absent); null when Redis did not answer. */
  seq: string | null;
  /** The session's engine model, when asked for and cached. */
  model: EngineModel | undefined;
  /** False when Redis did not answer (down, breaker open, timeout). */
  redisOk: boolean;
}

function parseJson(text: string | null | undefined): unknown {
  if (text === null || text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/**
 * Reads the session's live state (and its engine model when `withModel`) in one round trip. A
 * corrupt state is treated as absent; its `seq` is kept so the rebuilt state replaces it.
 */
export async function readLiveState(
  runtime: Runtime,
  userId: string,
  sessionId: string,
  withModel: boolean,
): Promise<LiveRead> {
  const result = await runtime.redis?.run(async (redis: Redis) => {
    const pipeline = redis.pipeline().hmget(networkStateKey(userId, sessionId), 'state', 'seq');
    if (withModel) pipeline.get(modelKey(userId, sessionId));
    const replies = (await pipeline.exec()) ?? [];
    for (const [error] of replies) if (error) throw error;
    return replies.map(([, value]) => value);
  });
  if (!result?.ok) return { state: undefined, seq: null, model: undefined, redisOk: false };
  const [hash, model] = result.value as [[string | null, string | null], string | null | undefined];
  return {
    state: restoreEstimator(parseJson(hash[0])),
    seq: hash[1] ?? '',
    model: parseModel(model),
    redisOk: true,
  };
}

/**
 * Writes `state` (folded up to sample `newSeq`) if the key still holds `expectedSeq`, else (and
 * always for a null `expectedSeq`) deletes it. Returns false when Redis did not answer; the state
 * then lives on in Postgres only.
 */
export async function writeLiveState(
  runtime: Runtime,
  userId: string,
  sessionId: string,
  expectedSeq: string | null,
  state: NetworkEstimatorState,
  newSeq: number,
): Promise<boolean> {
  const result = await runtime.redis?.run((redis) =>
    runScript(
      redis,
      COMPARE_AND_SET,
      [networkStateKey(userId, sessionId)],
      [
        expectedSeq ?? NEVER_MATCHES,
        JSON.stringify(state),
        String(newSeq),
        NETWORK_STATE_TTL_SECONDS,
      ],
    ),
  );
  return result?.ok === true;
}

/** A state rebuilt from Postgres and the id of the newest sample in it. */
export interface RebuiltState {
  state: NetworkEstimatorState;
  lastId: number;
}

/**
 * Rebuilds the owner's state by replaying the session's last {@link REBUILD_SAMPLES} samples;
 * undefined when it has none (or is not the owner's). The count covers every stored sample.
 */
export async function rebuildState(
  sql: Sql,
  sessionId: string,
  userId: string,
): Promise<RebuiltState | undefined> {
  const recent = await recentNetworkSamples(sql, sessionId, userId, REBUILD_SAMPLES);
  const state = replayEstimator(recent.samples);
  if (state === undefined || recent.lastId === null) return undefined;
  return { state: { ...state, sampleCount: recent.total }, lastId: recent.lastId };
}
