import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Alarm, Dashboard } from 'aws-cdk-lib/aws-cloudwatch';
import type { Topic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/environment-config.ts';
import { AlarmTopic } from '../constructs/observability/alarm-topic.ts';
import { ServiceAlarms } from '../constructs/observability/service-alarms.ts';
import { ServiceDashboard } from '../constructs/observability/service-dashboard.ts';
import { httpErrorRate, latencyP95 } from '../constructs/observability/service-metrics.ts';
import type { ApiStack } from './api-stack.ts';
import type { GrpcStack } from './grpc-stack.ts';

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
    const { config } = props;
    const httpApi = props.api.api.api;
    const errorRate = httpErrorRate(httpApi);
    const latency = latencyP95();

    this.topic = new AlarmTopic(this, 'Notifications', { config }).topic;
    this.alarms = new ServiceAlarms(this, 'ServiceAlarms', {
      config,
      topic: this.topic,
      errorRate,
      latencyP95: latency,
    }).alarms;
    this.dashboard = new ServiceDashboard(this, 'ServiceDashboard', {
      config,
      alarms: Object.values(this.alarms),
      httpApi,
      grpcService: props.grpc.service,
      errorRate,
      latencyP95: latency,
    }).dashboard;
  }
}
