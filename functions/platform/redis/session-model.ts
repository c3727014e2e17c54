import { type EngineModel, restoreModel } from '../../core/engine/model.ts';
import type { Runtime } from '../runtime.ts';

/** How long a session's learned model lives in Redis after its last frame. */
export const MODEL_TTL_SECONDS = 3600;

/** Redis key of a session's learned engine model: the session of its owner (the tenant). */
export const modelKey = (userId: string, sessionId: string) => `model:${userId}:${sessionId}`;

/** Parses a cached model; a corrupt or outdated one is rejected (cold start from the priors). */
export function parseModel(text: string | null | undefined): EngineModel | undefined {
  if (text === null || text === undefined) return undefined;
  try {
    return restoreModel(JSON.parse(text)).model;
  } catch {
    return undefined;
  }
}

/** Stores the session's model; a cache, so a Redis failure only costs the next frame a cold start. */
export async function saveModel(
  runtime: Runtime,
  userId: string,
  sessionId: string,
  model: EngineModel,
): Promise<void> {
  await runtime.redis?.run((redis) =>
    redis.set(modelKey(userId, sessionId), JSON.stringify(model), 'EX', MODEL_TTL_SECONDS),
  );
}
