import { Duration } from 'aws-cdk-lib';
import { Metric } from 'aws-cdk-lib/aws-cloudwatch';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../aic-function.ts';

/** The period of every alarm and of the dashboard's graphs. */
export const PERIOD = Duration.minutes(5);

/** Fewer requests than this in a period make no 5xx rate (one error in three is not an outage). */
export const MIN_REQUESTS_FOR_ERROR_RATE = 20;

/** Fewer frames than this in a period make no fallback or within-budget share. */
export const MIN_FRAMES_FOR_RATE = 20;

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
