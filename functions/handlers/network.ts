import {
  getNetworkEstimate,
  getSessionStatistics,
  type NetworkResult,
  recordNetworkUpdateOnce,
} from '../app/network-service.ts';
import { createFunctionHandler } from '../http/function-handler.ts';
import { header } from '../http/middlewares/types.ts';
import {
  IDEMPOTENCY_KEY_HEADER,
  parseIdempotencyKey,
  REPLAY_HEADER,
} from '../platform/idempotency/identity.ts';
import { getRuntime } from '../platform/runtime.ts';

/**
 * The body, marked degraded when the live state in Redis could not be read or written, and marked
 * as a replay when it is the stored answer of an earlier copy of the update.
 */
function respond<T>(result: NetworkResult<T>) {
  const headers: Record<string, string> = {
    ...(result.redisDegraded ? { 'X-AIC-Degraded': 'redis' } : {}),
    ...(result.replay ? { [REPLAY_HEADER]: 'true' } : {}),
  };
  return { body: result.body, headers: Object.keys(headers).length > 0 ? headers : undefined };
}

/** Lambda entry of the network function: a session's network updates, estimate and statistics. */
export const handler = createFunctionHandler('network', {
  putSessionNetwork: async ({ path, body, userId, event }) => {
    const idempotencyKey = parseIdempotencyKey(
      header(event, IDEMPOTENCY_KEY_HEADER),
      `header.${IDEMPOTENCY_KEY_HEADER.toLowerCase()}`,
    );
    return respond(
      await recordNetworkUpdateOnce(await getRuntime(), {
        userId,
        sessionId: path.session_id,
        conditions: body,
        idempotencyKey,
      }),
    );
  },
  getSessionNetwork: async ({ path, userId }) =>
    respond(await getNetworkEstimate(await getRuntime(), userId, path.session_id)),
  getSession: async ({ path, userId }) => ({
    body: await getSessionStatistics(await getRuntime(), userId, path.session_id),
  }),
});
