import { Duration } from 'aws-cdk-lib';
import type { IHttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { MathExpression, Metric } from 'aws-cdk-lib/aws-cloudwatch';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../aic-function.ts';

/** The period of every alarm and of the dashboard's graphs. */
export const PERIOD = Duration.minutes(5);

/** Fewer requests than this in a period make no 5xx rate (one error in three is not an outage). */
export const MIN_REQUESTS_FOR_ERROR_RATE = 20;

/**
 * One of the service's EMF metrics (namespace `AuraLink/AIC`, dimension `service`), as Powertools
 * publishes them from the functions and the gRPC task.
 */
export function serviceMetric(metricName: string, statistic: string, label?: string): Metric {
  return new Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service: SERVICE_NAME },
    statistic,
    period: PERIOD,
    ...(label ? { label } : {}),
  });
}

/**
 * The share of the HTTP API's requests answered 5xx, in percent; 0 in a period with fewer than
 * {@link MIN_REQUESTS_FOR_ERROR_RATE} requests.
 */
export function httpErrorRate(httpApi: IHttpApi): MathExpression {
  const requests = httpApi.metricCount({ period: PERIOD, statistic: 'Sum' });
  const errors = httpApi.metricServerError({ period: PERIOD, statistic: 'Sum' });
  return new MathExpression({
    expression: `IF(requests >= ${MIN_REQUESTS_FOR_ERROR_RATE}, 100 * errors / requests, 0)`,
    usingMetrics: { requests, errors },
    label: '5xx rate (%)',
    period: PERIOD,
  });
}

/** The p95 of the request latency the service measures itself. */
export function latencyP95(): Metric {
  return serviceMetric('RequestLatency', 'p95', 'Request latency p95 (ms)');
}
