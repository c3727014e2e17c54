import { Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IMetric,
  MathExpression,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/environment-config.ts';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../constructs/aic-function.ts';
import type { ApiStack } from './api-stack.ts';
import type { GrpcStack } from './grpc-stack.ts';

/** The period of every alarm and of the dashboard's graphs. */
const PERIOD = Duration.minutes(5);

/** Fewer requests than this in a period make no 5xx rate (one error in three is not an outage). */
const MIN_REQUESTS_FOR_ERROR_RATE = 20;

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

/** Properties of {@link ObservabilityStack}. */
export interface ObservabilityStackProps extends StackProps {
  /** The environment it is deployed to. */
  readonly config: EnvironmentConfig;
  /** The HTTP API, for its request and error counts. */
  readonly api: ApiStack;
  /** The gRPC service, for its utilisation. */
  readonly grpc: GrpcStack;
}

/**
 * What operators look at: one CloudWatch dashboard of the service's metrics (compression, quality,
 * latency, rate limiting, the Redis breaker, database connections, errors) and the alarms that page
 * them through an encrypted SNS topic to the environment's alarm address.
 */
export class ObservabilityStack extends Stack {
  /** The alarm topic; the alarm e-mail address subscribes to it. */
  readonly topic: Topic;
  /** The alarms, by name. */
  readonly alarms: Readonly<Record<string, Alarm>>;
  /** The dashboard. */
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: ObservabilityStackProps) {
    super(scope, id, props);
    const { config, api, grpc } = props;
    const httpApi = api.api.api;

    const key = new Key(this, 'AlarmTopicKey', {
      description: `AuraLink AIC alarm topic (${config.name})`,
      enableKeyRotation: true,
      removalPolicy: config.retainOnDelete ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    // CloudWatch publishes alarm notifications to the encrypted topic with this key.
    key.grant(
      new ServicePrincipal('cloudwatch.amazonaws.com'),
      'kms:Decrypt',
      'kms:GenerateDataKey*',
    );
    this.topic = new Topic(this, 'AlarmTopic', {
      topicName: `auralink-aic-${config.name}-alarms`,
      displayName: `AuraLink AIC alarms (${config.name})`,
      masterKey: key,
      enforceSSL: true,
    });
    const subscription = this.topic.addSubscription(new EmailSubscription(config.alarmEmail));
    Validations.of(subscription).acknowledge({
      id: 'Serverless-SNSRedrivePolicy',
      reason:
        'A notification e-mail that cannot be delivered loses nothing: the alarm keeps its state ' +
        'in CloudWatch and on the dashboard, and the OK/ALARM transitions are in its history.',
    });

    const requests = httpApi.metricCount({ period: PERIOD, statistic: 'Sum' });
    const serverErrors = httpApi.metricServerError({ period: PERIOD, statistic: 'Sum' });
    const errorRate = new MathExpression({
      expression: `IF(requests >= ${MIN_REQUESTS_FOR_ERROR_RATE}, 100 * errors / requests, 0)`,
      usingMetrics: { requests, errors: serverErrors },
      label: '5xx rate (%)',
      period: PERIOD,
    });
    const latencyP95 = serviceMetric('RequestLatency', 'p95', 'Request latency p95 (ms)');

    const alarm = (
      name: string,
      metric: IMetric,
      threshold: number,
      description: string,
      options: { evaluationPeriods?: number; datapointsToAlarm?: number } = {},
    ): Alarm => {
      const created = new Alarm(this, `${name}Alarm`, {
        alarmName: `auralink-aic-${config.name}-${name}`,
        alarmDescription: description,
        metric,
        threshold,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: options.evaluationPeriods ?? 1,
        datapointsToAlarm: options.datapointsToAlarm ?? 1,
        // No data means no requests, no decisions or no failures: nothing is wrong.
        treatMissingData: TreatMissingData.NOT_BREACHING,
      });
      created.addAlarmAction(new SnsAction(this.topic));
      created.addOkAction(new SnsAction(this.topic));
      return created;
    };
    this.alarms = {
      http5xxRate: alarm(
        'http-5xx-rate',
        errorRate,
        config.alarms.http5xxRatePercent,
        `More than ${config.alarms.http5xxRatePercent} % of API requests answered 5xx in 2 of the last 3 five-minute periods (periods with fewer than ${MIN_REQUESTS_FOR_ERROR_RATE} requests do not count).`,
        { evaluationPeriods: 3, datapointsToAlarm: 2 },
      ),
      latencyP95: alarm(
        'latency-p95',
        latencyP95,
        config.alarms.latencyP95Ms,
        `Request latency p95 above ${config.alarms.latencyP95Ms} ms in 2 of the last 3 five-minute periods.`,
        { evaluationPeriods: 3, datapointsToAlarm: 2 },
      ),
      redisBreakerOpen: alarm(
        'redis-breaker-open',
        serviceMetric('RedisBreakerOpen', 'Sum'),
        1,
        'The Redis circuit breaker opened: rate limiting runs per container (degraded) until Redis answers again.',
      ),
      rateLimitRejections: alarm(
        'rate-limit-rejections',
        serviceMetric('RateLimitRejected', 'Sum'),
        config.alarms.rateLimitRejectionsPer5Min,
        `At least ${config.alarms.rateLimitRejectionsPer5Min} requests rejected by the rate limiter within five minutes: a client misbehaving or limits too tight.`,
      ),
      dbConnectFailures: alarm(
        'db-connect-failures',
        serviceMetric('DbConnectFailure', 'Sum'),
        1,
        'A container gave up connecting to Postgres after every retry: the service cannot reach its database.',
      ),
    };

    const graph = (title: string, left: IMetric[], right: IMetric[] = []) =>
      new GraphWidget({ title, left, right, width: 12, height: 6, period: PERIOD });
    this.dashboard = new Dashboard(this, 'Dashboard', {
      dashboardName: `auralink-aic-${config.name}`,
      defaultInterval: Duration.hours(3),
    });
    this.dashboard.addWidgets(
      new AlarmStatusWidget({
        title: 'Alarms',
        alarms: Object.values(this.alarms),
        width: 24,
        height: 3,
      }),
    );
    this.dashboard.addWidgets(
      graph(
        'Compression',
        [serviceMetric('CompressionRatio', 'Average', 'Compression ratio (avg)')],
        [serviceMetric('FramesCompressed', 'Sum', 'Frames')],
      ),
      graph('Quality (SSIM)', [
        serviceMetric('SSIM', 'Average', 'SSIM (avg)'),
        serviceMetric('SSIM', 'p10', 'SSIM (p10)'),
      ]),
    );
    this.dashboard.addWidgets(
      graph(
        'Latency',
        [
          serviceMetric('RequestLatency', 'p50', 'Request latency p50 (ms)'),
          latencyP95,
          serviceMetric('EncodeMs', 'p95', 'Encode p95 (ms)'),
        ],
        [
          httpApi.metricLatency({
            period: PERIOD,
            statistic: 'p95',
            label: 'API Gateway p95 (ms)',
          }),
        ],
      ),
      graph('Rate limiter decisions', [
        serviceMetric('RateLimitAllowed', 'Sum', 'Allowed'),
        serviceMetric('RateLimitRejected', 'Sum', 'Rejected'),
        serviceMetric('RateLimitDegraded', 'Sum', 'Degraded (per-container fallback)'),
      ]),
    );
    this.dashboard.addWidgets(
      graph('Redis circuit breaker transitions', [
        serviceMetric('RedisBreakerOpen', 'Sum', 'Opened'),
        serviceMetric('RedisBreakerHalfOpen', 'Sum', 'Half-open'),
        serviceMetric('RedisBreakerClosed', 'Sum', 'Closed'),
      ]),
      graph('Database connections', [
        serviceMetric('DbConnectRetry', 'Sum', 'Connect retries'),
        serviceMetric('DbConnectFailure', 'Sum', 'Connect failures (gave up)'),
      ]),
    );
    this.dashboard.addWidgets(
      graph(
        'Errors',
        [
          serviceMetric('Http5xx', 'Sum', '5xx (dependency)'),
          serviceMetric('Http5xxBug', 'Sum', '500 (bug)'),
          serviceMetric('Http4xx', 'Sum', '4xx'),
        ],
        [errorRate],
      ),
      graph('gRPC service', [
        grpc.service.metricCpuUtilization({ period: PERIOD, label: 'CPU (%)' }),
        grpc.service.metricMemoryUtilization({ period: PERIOD, label: 'Memory (%)' }),
      ]),
    );
  }
}
