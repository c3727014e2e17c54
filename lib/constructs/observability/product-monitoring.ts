import type { IHttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { ComparisonOperator, MathExpression, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { CustomMetric, CustomThreshold, MonitoringFacade } from 'cdk-monitoring-constructs';
import type { EnvironmentConfig } from '../../config/environment-config.ts';
import { runbookLink } from './runbook.ts';
import { MIN_FRAMES_FOR_RATE, PERIOD, serviceMetric } from './service-metrics.ts';

/** What the product's own monitoring needs. */
export interface ProductMonitoringProps {
  /** The environment; its `alarms` thresholds apply. */
  readonly config: EnvironmentConfig;
  /** The HTTP API, whose request count feeds the anomaly detection. */
  readonly httpApi: IHttpApi;
}

/** The evaluation of an alarm on a single event (a breaker opening, a container giving up). */
const ON_FIRST_EVENT = { datapointsToAlarm: 1, evaluationPeriods: 1 };

/** Three periods in a row (15 minutes), the Prometheus alerts' `for:` on the same ratios. */
const FOR_FIFTEEN_MINUTES = { datapointsToAlarm: 3, evaluationPeriods: 3 };

/**
 * One alarm of the product, named `auralink-aic-<env>-<name>` after its runbook section. No data
 * means no requests, no frames or no failures: nothing is wrong.
 */
function productAlarm(
  config: EnvironmentConfig,
  name: string,
  description: string,
  threshold: Omit<CustomThreshold, 'alarmNameOverride' | 'runbookLink'>,
): Record<string, CustomThreshold> {
  return {
    Critical: {
      treatMissingDataOverride: TreatMissingData.NOT_BREACHING,
      ...threshold,
      alarmNameOverride: `auralink-aic-${config.name}-${name}`,
      alarmDescriptionOverride: description,
      runbookLink: runbookLink(name),
    },
  };
}

/** A share of the compressed frames in percent; `idle` in a period with too few frames to judge. */
function frameShare(metricName: string, label: string, idle: number): MathExpression {
  // Expression IDs are shared by every metric of a graph: name the part after its metric.
  const part = metricName.toLowerCase();
  return new MathExpression({
    expression: `IF(frames >= ${MIN_FRAMES_FOR_RATE}, 100 * FILL(${part}, 0) / frames, ${idle})`,
    usingMetrics: {
      [part]: serviceMetric(metricName, 'Sum'),
      frames: serviceMetric('FramesCompressed', 'Sum'),
    },
    label,
    period: PERIOD,
  });
}

/**
 * The product's metrics (EMF namespace `AuraLink/AIC`) on the dashboard and their alarms: request
 * latency, the Redis breaker, rate-limit rejections, database connections given up, containers
 * still uninitialised a minute after they started, abnormal request volume, and the share of
 * frames that fell back or fit their byte budget.
 */
export function monitorProduct(facade: MonitoringFacade, props: ProductMonitoringProps): void {
  facade.monitorCustom({
    alarmFriendlyName: 'service',
    humanReadableName: 'AuraLink AIC service',
    metricGroups: [
      { title: 'Compression', metrics: compressionMetrics(props.config) },
      { title: 'Quality (SSIM)', metrics: qualityMetrics() },
      { title: 'Latency', metrics: latencyMetrics(props.config) },
      { title: 'Requests', metrics: [requestVolume(props)] },
      { title: 'Rate limiter', metrics: limiterMetrics(props.config) },
      { title: 'Dependencies', metrics: dependencyMetrics(props.config) },
      {
        title: 'Errors',
        metrics: [
          serviceMetric('Http5xx', 'Sum', '5xx (dependency)'),
          serviceMetric('Http5xxBug', 'Sum', '500 (bug)'),
          serviceMetric('Http4xx', 'Sum', '4xx'),
        ],
      },
    ],
  });
}

function compressionMetrics(config: EnvironmentConfig): CustomMetric[] {
  const { fallbackRatePercent, withinBudgetMinPercent } = config.alarms;
  return [
    serviceMetric('FramesCompressed', 'Sum', 'Frames'),
    serviceMetric('FramesDropped', 'Sum', 'Frames dropped (nothing fits)'),
    serviceMetric('FramesUnchanged', 'Sum', "Frames unchanged (viewer's image kept)"),
    serviceMetric('CompressionRatio', 'Average', 'Compression ratio (avg)'),
    serviceMetric('BytesSaved', 'Sum', 'Bytes saved'),
    {
      metric: frameShare('Fallbacks', 'Fallback rate (%)', 0),
      alarmFriendlyName: 'fallback-rate',
      addAlarm: productAlarm(
        config,
        'fallback-rate',
        `More than ${fallbackRatePercent} % of the compressed frames fell back to their original for 15 minutes (periods with fewer than ${MIN_FRAMES_FOR_RATE} frames do not count): those frames save no bandwidth.`,
        {
          threshold: fallbackRatePercent,
          comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
          ...FOR_FIFTEEN_MINUTES,
        },
      ),
    },
    {
      metric: frameShare('FramesWithinBudget', 'Within budget (%)', 100),
      alarmFriendlyName: 'within-budget-rate',
      addAlarm: productAlarm(
        config,
        'within-budget-rate',
        `Fewer than ${withinBudgetMinPercent} % of the compressed frames fit their byte budget for 15 minutes (periods with fewer than ${MIN_FRAMES_FOR_RATE} frames do not count): the others overrun their clients' bandwidth.`,
        {
          threshold: withinBudgetMinPercent,
          comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
          ...FOR_FIFTEEN_MINUTES,
        },
      ),
    },
  ];
}

function qualityMetrics(): CustomMetric[] {
  return [
    serviceMetric('SSIM', 'Average', 'SSIM (avg)'),
    serviceMetric('SSIM', 'p10', 'SSIM (p10)'),
  ];
}

function latencyMetrics(config: EnvironmentConfig): CustomMetric[] {
  const { latencyP95Ms } = config.alarms;
  return [
    serviceMetric('RequestLatency', 'p50', 'Request latency p50 (ms)'),
    {
      metric: serviceMetric('RequestLatency', 'p95', 'Request latency p95 (ms)'),
      alarmFriendlyName: 'latency-p95',
      addAlarm: productAlarm(
        config,
        'latency-p95',
        `Request latency p95 (HTTP and gRPC, as the service measures it) above ${latencyP95Ms} ms in 2 of the last 3 five-minute periods.`,
        {
          threshold: latencyP95Ms,
          comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        },
      ),
    },
    serviceMetric('EncodeMs', 'p95', 'Encode p95 (ms)'),
  ];
}

/** The API's requests per period, with an anomaly band learnt from their history. */
function requestVolume({ config, httpApi }: ProductMonitoringProps): CustomMetric {
  return {
    metric: httpApi.metricCount({ period: PERIOD, statistic: 'Sum', label: 'API requests' }),
    alarmFriendlyName: 'request-volume-anomaly',
    anomalyDetectionStandardDeviationToRender: 3,
    addAlarmOnAnomaly: {
      Critical: {
        standardDeviationForAlarm: 3,
        alarmWhenAboveTheBand: true,
        alarmWhenBelowTheBand: true,
        ...FOR_FIFTEEN_MINUTES,
        alarmNameOverride: `auralink-aic-${config.name}-request-volume-anomaly`,
        alarmDescriptionOverride:
          'API requests outside the band CloudWatch learnt from their history (3 standard deviations) for 15 minutes: a surge (a misbehaving client, an attack the WAF lets through) or a drop (clients cannot reach the API).',
        runbookLink: runbookLink('request-volume-anomaly'),
      },
    },
  };
}

function limiterMetrics(config: EnvironmentConfig): CustomMetric[] {
  const { rateLimitRejectionsPer5Min } = config.alarms;
  return [
    serviceMetric('RateLimitAllowed', 'Sum', 'Allowed'),
    {
      metric: serviceMetric('RateLimitRejected', 'Sum', 'Rejected'),
      alarmFriendlyName: 'rate-limit-rejections',
      addAlarm: productAlarm(
        config,
        'rate-limit-rejections',
        `At least ${rateLimitRejectionsPer5Min} requests rejected by the rate limiter within five minutes: a client misbehaving or limits too tight.`,
        {
          threshold: rateLimitRejectionsPer5Min,
          comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          ...ON_FIRST_EVENT,
        },
      ),
    },
    serviceMetric('RateLimitDegraded', 'Sum', 'Degraded (per-container fallback)'),
  ];
}

function dependencyMetrics(config: EnvironmentConfig): CustomMetric[] {
  const onFirst = (name: string, description: string) =>
    productAlarm(config, name, description, {
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      ...ON_FIRST_EVENT,
    });
  return [
    {
      metric: serviceMetric('RedisBreakerOpen', 'Sum', 'Redis breaker opened'),
      alarmFriendlyName: 'redis-breaker-open',
      addAlarm: onFirst(
        'redis-breaker-open',
        'The Redis circuit breaker opened: rate limiting runs per container (degraded) until Redis answers again.',
      ),
    },
    serviceMetric('RedisBreakerHalfOpen', 'Sum', 'Redis breaker half-open'),
    serviceMetric('RedisBreakerClosed', 'Sum', 'Redis breaker closed'),
    serviceMetric('DbConnectRetry', 'Sum', 'Postgres connect retries'),
    {
      metric: serviceMetric('DbConnectFailure', 'Sum', 'Postgres connects given up'),
      alarmFriendlyName: 'db-connect-failures',
      addAlarm: onFirst(
        'db-connect-failures',
        'A container gave up connecting to Postgres after every retry: the service cannot reach its database.',
      ),
    },
    {
      metric: serviceMetric('InitialisationStalled', 'Sum', 'Uninitialised 60 s after start'),
      alarmFriendlyName: 'initialisation-stalled',
      addAlarm: onFirst(
        'initialisation-stalled',
        'A container (a function instance or a gRPC task) was still not initialised 60 seconds after it started: it cannot reach a dependency (Secrets Manager, Postgres, Redis) or its settings are wrong.',
      ),
    },
  ];
}
