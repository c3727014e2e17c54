import {
  getNetworkEstimate,
  getSessionStatistics,
  type NetworkResult,
  recordNetworkUpdate,
} from '../app/network-service.ts';
import { createFunctionHandler } from '../http/function-handler.ts';
import { getRuntime } from '../platform/runtime.ts';

/** The body, marked degraded when the live state in Redis could not be read or written. */
function respond<T>(result: NetworkResult<T>) {
  return {
    body: result.body,
    headers: result.redisDegraded ? { 'X-AIC-Degraded': 'redis' } : undefined,
  };
}

/** Lambda entry of the network function: a session's network updates, estimate and statistics. */
export const handler = createFunctionHandler('network', {
  putSessionNetwork: async ({ path, body, userId }) =>
    respond(
      await recordNetworkUpdate(await getRuntime(), {
        userId,
        sessionId: path.session_id,
        conditions: body,
      }),
    ),
  getSessionNetwork: async ({ path, userId }) =>
    respond(await getNetworkEstimate(await getRuntime(), userId, path.session_id)),
  getSession: async ({ path, userId }) => ({
    body: await getSessionStatistics(await getRuntime(), userId, path.session_id),
  }),
});
