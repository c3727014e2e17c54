import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logger, metrics } from '../../platform/observability.ts';
import type { HttpMiddleware, HttpRequest } from './types.ts';

/** One log line and one latency metric per request, written once the response is final. */
export function accessLogMiddleware(): HttpMiddleware {
  const log = (request: HttpRequest) => {
    const { aic } = request.context;
    if (!aic) return;
    const latencyMs = Math.round((performance.now() - aic.startedAt) * 100) / 100;
    metrics.addMetric('RequestLatency', MetricUnit.Milliseconds, latencyMs);
    logger.info('request', {
      method: request.event.requestContext?.http?.method,
      path: request.event.rawPath,
      route: aic.route?.id ?? request.event.routeKey,
      status: request.response?.statusCode,
      latency_ms: latencyMs,
      ...(aic.userId ? { user_id: aic.userId } : {}),
    });
  };
  return { name: 'accessLog', after: log, onError: log };
}
