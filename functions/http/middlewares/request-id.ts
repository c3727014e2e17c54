import { resolveRequestId } from '../../core/request-id.ts';
import { logger } from '../../platform/observability.ts';
import { addResponseHeaders, type HttpMiddleware, type HttpRequest, header } from './types.ts';

/**
 * Resolves the request ID (the client's `X-Request-ID` when sane, else a UUID), starts the request
 * state, puts the ID on every log line and echoes it on every response, errors included.
 */
export function requestIdMiddleware(): HttpMiddleware {
  const echo = (request: HttpRequest) => {
    if (!request.response || !request.context.aic) return;
    addResponseHeaders(request, {
      'X-Request-ID': request.context.aic.requestId,
      ...request.context.aic.responseHeaders,
    });
  };
  return {
    name: 'requestId',
    before: (request) => {
      const requestId = resolveRequestId(header(request.event, 'x-request-id'));
      request.context.aic = {
        requestId,
        startedAt: performance.now(),
        input: {},
        responseHeaders: {},
      };
      logger.appendKeys({ request_id: requestId });
    },
    after: echo,
    onError: echo,
  };
}
