import { Duration } from 'aws-cdk-lib';
import type { IHttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import {
  type Alarm,
  AlarmStatusWidget,
  Dashboard,
  GraphWidget,
  type IMetric,
  type IWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { BaseService } from 'aws-cdk-lib/aws-ecs';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../../config/environment-config.ts';
import { FlatConstruct } from '../flat-construct.ts';
import { PERIOD, serviceMetric } from './service-metrics.ts';

/** Properties of {@link ServiceDashboard}. */
export interface ServiceDashboardProps {
  /** The environment it is deployed to. */
  readonly config: EnvironmentConfig;
  /** The alarms whose state the top row shows. */
  readonly alarms: readonly Alarm[];
  /** The HTTP API, for its own latency. */
  readonly httpApi: IHttpApi;
  /** The gRPC service, for its utilisation. */
  readonly grpcService: BaseService;
  /** The HTTP API's 5xx rate in percent (`httpErrorRate`). */
  readonly errorRate: IMetric;
  /** The p95 of request latency (`latencyP95`). */
  readonly latencyP95: IMetric;
}

/** A half-width graph over the dashboard's period. */
function graph(title: string, left: IMetric[], right: IMetric[] = []): GraphWidget {
  return new GraphWidget({ title, left, right, width: 12, height: 6, period: PERIOD });
}

/**
 * The CloudWatch dashboard operators look at: the alarms' state, then two graphs a row of
 * compression, quality (SSIM), latency, rate limiter decisions, Redis breaker transitions,
 * database connections, errors and the gRPC service's utilisation.
 */
export class ServiceDashboard extends FlatConstruct {
  /** The dashboard. */
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: ServiceDashboardProps) {
    super(scope, id);
    this.dashboard = new Dashboard(this.host, 'Dashboard', {
      dashboardName: `auralink-aic-${props.config.name}`,
      defaultInterval: Duration.hours(3),
    });
    this.dashboard.addWidgets(
      new AlarmStatusWidget({ title: 'Alarms', alarms: [...props.alarms], width: 24, height: 3 }),
    );
    for (const row of [outputRow(), latencyRow(props), dependencyRow(), errorRow(props)]) {
      this.dashboard.addWidgets(...row);
    }
  }
}

/** What the service produces: compression ratio and frames, and their quality. */
function outputRow(): IWidget[] {
  return [
    graph(
      'Compression',
      [serviceMetric('CompressionRatio', 'Average', 'Compression ratio (avg)')],
      [serviceMetric('FramesCompressed', 'Sum', 'Frames')],
    ),
    graph('Quality (SSIM)', [
      serviceMetric('SSIM', 'Average', 'SSIM (avg)'),
      serviceMetric('SSIM', 'p10', 'SSIM (p10)'),
    ]),
  ];
}

/** How fast it answers, and how the rate limiter decides. */
function latencyRow(props: ServiceDashboardProps): IWidget[] {
  return [
    graph(
      'Latency',
      [
        serviceMetric('RequestLatency', 'p50', 'Request latency p50 (ms)'),
        props.latencyP95,
        serviceMetric('EncodeMs', 'p95', 'Encode p95 (ms)'),
      ],
      [
        props.httpApi.metricLatency({
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
  ];
}

/** How its dependencies behave: the Redis circuit breaker and the database connections. */
function dependencyRow(): IWidget[] {
  return [
    graph('Redis circuit breaker transitions', [
      serviceMetric('RedisBreakerOpen', 'Sum', 'Opened'),
      serviceMetric('RedisBreakerHalfOpen', 'Sum', 'Half-open'),
      serviceMetric('RedisBreakerClosed', 'Sum', 'Closed'),
    ]),
    graph('Database connections', [
      serviceMetric('DbConnectRetry', 'Sum', 'Connect retries'),
      serviceMetric('DbConnectFailure', 'Sum', 'Connect failures (gave up)'),
    ]),
  ];
}

/** Errors by kind with the API's 5xx rate, and the gRPC tasks' CPU and memory. */
function errorRow(props: ServiceDashboardProps): IWidget[] {
  return [
    graph(
      'Errors',
      [
        serviceMetric('Http5xx', 'Sum', '5xx (dependency)'),
        serviceMetric('Http5xxBug', 'Sum', '500 (bug)'),
        serviceMetric('Http4xx', 'Sum', '4xx'),
      ],
      [props.errorRate],
    ),
    graph('gRPC service', [
      props.grpcService.metricCpuUtilization({ period: PERIOD, label: 'CPU (%)' }),
      props.grpcService.metricMemoryUtilization({ period: PERIOD, label: 'Memory (%)' }),
    ]),
  ];
}
