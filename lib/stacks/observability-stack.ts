import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Dashboard } from 'aws-cdk-lib/aws-cloudwatch';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Topic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/environment-config.ts';
import { functionEntry } from '../constructs/aic-function.ts';
import { databaseBackupVaultName } from '../constructs/data/database-backup.ts';
import {
  type DatabaseSecretOwner,
  databaseSecretName,
} from '../constructs/data/postgres-database.ts';
import { AicMonitoring } from '../constructs/observability/aic-monitoring.ts';
import { AlarmTopic } from '../constructs/observability/alarm-topic.ts';
import type {
  MonitoredFunction,
  MonitoredResources,
} from '../constructs/observability/resource-monitoring.ts';
import type { ApiStack } from './api-stack.ts';
import type { DataStack } from './data-stack.ts';
import type { GrpcStack } from './grpc-stack.ts';
import type { MetricsStack } from './metrics-stack.ts';

/** Properties of {@link ObservabilityStack}. */
export interface ObservabilityStackProps extends StackProps {
  /** The environment it is deployed to. */
  readonly config: EnvironmentConfig;
  /** The HTTP API and its functions. */
  readonly api: ApiStack;
  /** The gRPC service and its load balancer. */
  readonly grpc: GrpcStack;
  /** The database, RDS Proxy, Redis and the rotated secrets. */
  readonly data: DataStack;
  /** The frame event stream, its consumer and its failed-batches queue. */
  readonly metrics: MetricsStack;
}

/**
 * What operators look at: the environment's alarms and its CloudWatch dashboard, drawn from the
 * same monitoring definitions ({@link AicMonitoring}), paging through an encrypted SNS topic to the
 * environment's alarm address.
 */
export class ObservabilityStack extends Stack {
  /** The alarm topic; the alarm e-mail address subscribes to it. */
  readonly topic: Topic;
  /** The alarms and the dashboard. */
  readonly monitoring: AicMonitoring;
  /** The dashboard. */
  readonly dashboard: Dashboard;

  constructor(scope: Construct, id: string, props: ObservabilityStackProps) {
    super(scope, id, props);
    const { config } = props;
    this.topic = new AlarmTopic(this, 'Notifications', { config }).topic;
    this.monitoring = new AicMonitoring(this, 'Monitoring', {
      config,
      topic: this.topic,
      resources: monitoredResources(this, props),
    });
    this.dashboard = this.monitoring.dashboard;
  }
}

/** The database credentials secrets that rotate, each watched for the age of its last rotation. */
const SECRET_OWNERS: readonly DatabaseSecretOwner[] = ['master', 'app', 'migrator'];

/** The resources of the environment's stacks that monitoring watches. */
function monitoredResources(
  scope: Construct,
  { config, api, grpc, data, metrics }: ObservabilityStackProps,
): MonitoredResources {
  const functions: MonitoredFunction[] = [
    ...Object.entries(api.functions),
    ...Object.entries(api.scheduled).map(([name, { fn }]) => [name, fn] as const),
    ['originAuthorizer', api.originAuthorizer] as const,
  ].map(([name, fn]) => ({
    name,
    kind: functionEntry(name as Parameters<typeof functionEntry>[0]).kind,
    fn: fn.function,
  }));
  return {
    httpApi: api.api.api,
    functions,
    stream: metrics.stream.stream,
    streamConsumer: metrics.consumer.fn.function,
    deadLetterQueues: [
      { name: 'metrics-failed-batches', queue: metrics.consumer.failedBatches },
      ...Object.entries(api.scheduled).flatMap(([name, { fn }]) =>
        fn.deadLetterQueue ? [{ name: `${name}-dead-letters`, queue: fn.deadLetterQueue }] : [],
      ),
    ],
    database: data.database,
    proxy: data.proxy,
    redisReplicationGroupId: data.cache.replicationGroupId,
    backupVaultName: databaseBackupVaultName(config.name),
    grpcService: grpc.service,
    loadBalancer: grpc.loadBalancer,
    targetGroup: grpc.targetGroup,
    rotatedSecrets: Object.fromEntries(
      SECRET_OWNERS.map((owner) => [
        owner,
        // By name, not by reference: no stack but the data stack holds a reference to a
        // credentials secret, and the publisher needs only its metadata.
        Secret.fromSecretNameV2(scope, `${owner}-secret`, databaseSecretName(config.name, owner)),
      ]),
    ),
  };
}
