import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { AicError, DeadlineExceededError, toAicError } from '../../core/errors.ts';
import { classifyDependencyError } from '../../platform/dependency-errors.ts';
import { logger, metrics } from '../../platform/observability.ts';
import { errorResult } from '../error-response.ts';
import type { HttpMiddleware } from './types.ts';

/**
 * The one place where a thrown error becomes a response: typed errors map to their status and the
 * envelope; anything else is a bug, answered 500 without a stack or exception text (those go to the
 * log only).
 */
export function errorHandlerMiddleware(): HttpMiddleware {
  return {
    name: 'errorHandler',
    onError: (request) => {
      const thrown = classifyDependencyError(request.error);
      // middy's early-timeout abort surfaces as a TimeoutError: the caller's deadline, not a bug.
      const error =
        thrown instanceof Error && thrown.name === 'TimeoutError' && !(thrown instanceof AicError)
          ? new DeadlineExceededError(undefined, { cause: thrown })
          : toAicError(thrown);
      const status = error.httpStatus;
      if (status >= 500) {
        logger.error('request failed', { code: error.code, status, error: error.cause ?? error });
        metrics.addMetric(status === 500 ? 'Http5xxBug' : 'Http5xx', MetricUnit.Count, 1);
      } else {
        logger.info('request rejected', {
          code: error.code,
          status,
          reason: error.cause ?? error.message,
        });
        metrics.addMetric('Http4xx', MetricUnit.Count, 1);
      }
      const requestId = request.context.aic?.requestId ?? request.context.awsRequestId ?? 'unknown';
      request.response = errorResult(error, requestId);
    },
  };
}
