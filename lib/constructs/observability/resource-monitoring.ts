import type { IHttpApi } from 'aws-cdk-lib/aws-apigatewayv2';
import { ComparisonOperator, Metric, TreatMissingData } from 'aws-cdk-lib/aws-cloudwatch';
import type { FargateService } from 'aws-cdk-lib/aws-ecs';
import type {
  NetworkLoadBalancer,
  NetworkTargetGroup,
} from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import type { IStream } from 'aws-cdk-lib/aws-kinesis';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IDatabaseInstance, IDatabaseProxy } from 'aws-cdk-lib/aws-rds';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { ElastiCacheClusterType, type MonitoringFacade } from 'cdk-monitoring-constructs';
import type { EnvironmentConfig } from '../../config/environment-config.ts';
import type { AicFunctionKind } from '../aic-function.ts';
import { runbookLink } from './runbook.ts';
import { MIN_REQUESTS_FOR_ERROR_RATE, PERIOD } from './service-metrics.ts';

/** A Lambda function to watch, with its name and how it is invoked. */
export interface MonitoredFunction {
  readonly name: string;
  readonly kind: AicFunctionKind;
  readonly fn: IFunction;
}

/** A queue that holds what failed for good: one message in it pages. */
export interface MonitoredDeadLetterQueue {
  /** The alarm's runbook section (and name). */
  readonly name: string;
  readonly queue: IQueue;
}

/** The AWS resources of one environment that monitoring watches. */
export interface MonitoredResources {
  readonly httpApi: IHttpApi;
  /** Every function invoked at run time (the deploy-time ones report to CloudFormation). */
  readonly functions: readonly MonitoredFunction[];
  /** The Kinesis stream of frame events and its consumer function. */
  readonly stream: IStream;
  readonly streamConsumer: IFunction;
  readonly deadLetterQueues: readonly MonitoredDeadLetterQueue[];
  readonly database: IDatabaseInstance;
  readonly proxy: IDatabaseProxy;
  /** The Redis replication group's ID; its nodes are `<id>-001`, `<id>-002`, ... */
  readonly redisReplicationGroupId: string;
  readonly grpcService: FargateService;
  readonly loadBalancer: NetworkLoadBalancer;
  readonly targetGroup: NetworkTargetGroup;
  /** The AWS Backup vault of the database's recovery points. */
  readonly backupVaultName: string;
  /** Secrets rotated on the database's schedule, by name. */
  readonly rotatedSecrets: Readonly<Record<string, ISecret>>;
}

/** The share of invocations that may fail before a function's alarm: 5 %. */
const MAX_FAULT_RATE = 0.05;

/** Utilisation above which a database, cache or task pages, in percent. */
const MAX_CPU_PERCENT = 80;
const MAX_MEMORY_PERCENT = 85;

/** Swap in use on a Redis node above which it pages: the node is short of memory. */
const MAX_REDIS_SWAP_BYTES = 50 * 1024 * 1024;

/** The only severity: every alarm notifies the same topic and has a runbook section. */
function critical<T extends object>(
  anchor: string,
  threshold: T,
): { Critical: T & { runbookLink: string } } {
  return { Critical: { ...threshold, runbookLink: runbookLink(anchor) } };
}

/**
 * The alarm of a resource the environment has one of, named `auralink-aic-<env>-<anchor>` after
 * its runbook section.
 */
function single<T extends object>(
  config: EnvironmentConfig,
  anchor: string,
  threshold: T,
): { Critical: T & { runbookLink: string; alarmNameOverride: string } } {
  const { Critical } = critical(anchor, threshold);
  return { Critical: { ...Critical, alarmNameOverride: `auralink-aic-${config.name}-${anchor}` } };
}

/** Each on its first breaching period: something failed for good. */
const ON_FIRST_EVENT = { datapointsToAlarm: 1, evaluationPeriods: 1 };

/**
 * Watches every AWS resource of the environment with `cdk-monitoring-constructs`, each alarm with
 * its runbook section: API Gateway, the Lambda functions, the stream and its consumer, the
 * dead-letter queues, RDS and RDS Proxy, the Redis nodes, the gRPC service and its load balancer,
 * and the age of each rotated secret.
 */
export function monitorResources(
  facade: MonitoringFacade,
  config: EnvironmentConfig,
  resources: MonitoredResources,
): void {
  monitorApi(facade, config, resources);
  monitorStream(facade, config, resources);
  monitorDatabase(facade, config, resources);
  monitorBackups(facade, config, resources.backupVaultName);
  monitorRedis(facade, config, resources.redisReplicationGroupId);
  monitorGrpc(facade, config, resources);
  for (const [name, secret] of Object.entries(resources.rotatedSecrets)) {
    facade.monitorSecretsManagerSecret({
      secret,
      alarmFriendlyName: `secret-${name}`,
      humanReadableName: `Secret: ${name} database credentials`,
      // A rotation runs every `credentialsRotationDays`; two days late means it failed.
      addDaysSinceLastRotationAlarm: critical('secret-rotation-overdue', {
        maxDaysSinceUpdate: config.database.credentialsRotationDays + 2,
        ...ON_FIRST_EVENT,
        // The age is published once an hour: the periods between keep the last state.
        treatMissingDataOverride: TreatMissingData.IGNORE,
      }),
    });
  }
}

/** The HTTP API's 5xx share and each function's faults and throttles. */
function monitorApi(
  facade: MonitoringFacade,
  config: EnvironmentConfig,
  { httpApi, functions }: MonitoredResources,
): void {
  facade.monitorApiGatewayV2HttpApi({
    api: httpApi,
    alarmFriendlyName: 'http-api',
    humanReadableName: 'HTTP API',
    // The average of API Gateway's 5xx metric is the share of requests answered 5xx.
    add5xxRateAlarm: single(config, 'http-5xx-rate', {
      maxErrorRate: config.alarms.http5xxRatePercent / 100,
      minSampleCountToEvaluateDatapoint: MIN_REQUESTS_FOR_ERROR_RATE,
    }),
  });
  for (const { name, kind, fn } of functions) {
    const onRequests = kind === 'api' || kind === 'authorizer';
    facade.monitorLambdaFunction({
      lambdaFunction: fn,
      alarmFriendlyName: `${name}-function`,
      humanReadableName: `Function: ${name}`,
      // Lambda's Errors average is the share of invocations that failed.
      addFaultRateAlarm: critical('lambda-errors', {
        maxErrorRate: MAX_FAULT_RATE,
        ...(onRequests ? { minSampleCountToEvaluateDatapoint: MIN_REQUESTS_FOR_ERROR_RATE } : {}),
      }),
      addThrottlesCountAlarm: critical('lambda-throttles', { maxErrorCount: 0 }),
    });
  }
}

/** The frame event stream, its consumer's lag and the queues of what failed for good. */
function monitorStream(
  facade: MonitoringFacade,
  config: EnvironmentConfig,
  { stream, streamConsumer, deadLetterQueues }: MonitoredResources,
): void {
  facade.monitorKinesisDataStream({
    streamName: stream.streamName,
    alarmFriendlyName: 'frame-events',
    humanReadableName: 'Frame event stream',
  });
  facade.monitorLambdaFunction({
    lambdaFunction: streamConsumer,
    alarmFriendlyName: 'metrics-consumer-function',
    humanReadableName: 'Function: metricsConsumer',
    isIterator: true,
    addFaultRateAlarm: critical('lambda-errors', { maxErrorRate: MAX_FAULT_RATE }),
    addThrottlesCountAlarm: critical('lambda-throttles', { maxErrorCount: 0 }),
    addMaxIteratorAgeAlarm: single(config, 'metrics-consumer-iterator-age', {
      maxAgeInMillis: config.alarms.metricsIteratorAgeSeconds * 1000,
      ...ON_FIRST_EVENT,
    }),
  });
  for (const { name, queue } of deadLetterQueues) {
    facade.monitorSqsQueue({
      queue,
      alarmFriendlyName: name,
      humanReadableName: `Queue: ${name}`,
      addQueueMaxSizeAlarm: single(config, name, { maxMessageCount: 0, ...ON_FIRST_EVENT }),
    });
  }
}

/** The instance's CPU and free storage, and RDS Proxy's connections and refused logins. */
function monitorDatabase(
  facade: MonitoringFacade,
  config: EnvironmentConfig,
  { database, proxy }: MonitoredResources,
): void {
  facade.monitorRdsInstance({
    instance: database,
    alarmFriendlyName: 'database',
    humanReadableName: 'PostgreSQL',
    addCpuUsageAlarm: single(config, 'database-cpu', { maxUsagePercent: MAX_CPU_PERCENT }),
    // Storage autoscaling grows the volume; 10 % of the allocation left means it cannot keep up.
    addFreeStorageSpaceAlarm: single(config, 'database-free-storage', {
      minCount: config.database.allocatedStorageGiB * 0.1 * 1024 ** 3,
    }),
  });
  const proxyMetric = (metricName: string, statistic: string, label: string) =>
    new Metric({
      namespace: 'AWS/RDS',
      metricName,
      dimensionsMap: { ProxyName: proxy.dbProxyName },
      statistic,
      period: PERIOD,
      label,
    });
  facade.monitorCustom({
    alarmFriendlyName: 'database-proxy',
    humanReadableName: 'RDS Proxy',
    metricGroups: [
      {
        title: 'Connections',
        metrics: [
          proxyMetric('ClientConnections', 'Average', 'Client connections'),
          proxyMetric('DatabaseConnections', 'Average', 'Database connections'),
        ],
      },
      {
        title: 'Refused logins',
        metrics: [
          {
            metric: proxyMetric('ClientConnectionsSetupFailedAuth', 'Sum', 'Failed logins'),
            alarmFriendlyName: 'database-proxy-auth-failures',
            addAlarm: single(config, 'database-proxy-auth-failures', {
              threshold: 5,
              comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
              treatMissingDataOverride: TreatMissingData.NOT_BREACHING,
            }),
          },
        ],
      },
    ],
  });
}

/** AWS Backup's jobs into the database's vault: any failed backup or copy pages. */
function monitorBackups(facade: MonitoringFacade, config: EnvironmentConfig, vault: string): void {
  const failed = (metricName: string, label: string) => ({
    metric: new Metric({
      namespace: 'AWS/Backup',
      metricName,
      dimensionsMap: { BackupVaultName: vault },
      statistic: 'Sum',
      period: PERIOD,
      label,
    }),
    alarmFriendlyName: `database-${metricName}`,
    addAlarm: critical('backup-job-failed', {
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingDataOverride: TreatMissingData.NOT_BREACHING,
      alarmNameOverride: `auralink-aic-${config.name}-backup-${metricName}`,
      ...ON_FIRST_EVENT,
    }),
  });
  facade.monitorCustom({
    alarmFriendlyName: 'database-backup',
    humanReadableName: 'Database backups (AWS Backup)',
    metricGroups: [
      {
        title: 'Failed jobs',
        metrics: [
          failed('NumberOfBackupJobsFailed', 'Backup jobs failed'),
          failed('NumberOfCopyJobsFailed', 'Copy jobs failed'),
        ],
      },
    ],
  });
}

/** Each Redis node's engine CPU, evictions and swap. */
function monitorRedis(facade: MonitoringFacade, config: EnvironmentConfig, groupId: string): void {
  for (let node = 1; node <= 1 + config.cache.replicas; node++) {
    const clusterId = `${groupId}-${String(node).padStart(3, '0')}`;
    facade.monitorElastiCacheCluster({
      clusterId,
      clusterType: ElastiCacheClusterType.REDIS,
      alarmFriendlyName: `redis-${node}`,
      humanReadableName: `Redis node ${clusterId}`,
      addRedisEngineCpuUsageAlarm: critical('redis-cpu', { maxUsagePercent: MAX_CPU_PERCENT }),
      addMaxEvictedItemsCountAlarm: critical('redis-evictions', { maxItemsCount: 0 }),
      addMaxUsedSwapMemoryAlarm: critical('redis-swap', {
        maxUsedSwapMemoryInBytes: MAX_REDIS_SWAP_BYTES,
      }),
    });
  }
}

/** The gRPC tasks' CPU and memory, and their health behind the load balancer. */
function monitorGrpc(
  facade: MonitoringFacade,
  config: EnvironmentConfig,
  { grpcService, loadBalancer, targetGroup }: MonitoredResources,
): void {
  facade.monitorSimpleFargateService({
    fargateService: grpcService,
    alarmFriendlyName: 'grpc-service',
    humanReadableName: 'gRPC service (Fargate)',
    addCpuUsageAlarm: single(config, 'grpc-cpu', { maxUsagePercent: MAX_CPU_PERCENT }),
    addMemoryUsageAlarm: single(config, 'grpc-memory', { maxUsagePercent: MAX_MEMORY_PERCENT }),
  });
  facade.monitorNetworkLoadBalancer({
    networkLoadBalancer: loadBalancer,
    networkTargetGroup: targetGroup,
    alarmFriendlyName: 'grpc-load-balancer',
    humanReadableName: 'gRPC load balancer',
    addHealthyTaskCountAlarm: single(config, 'grpc-healthy-tasks', {
      minHealthyTasks: config.grpc.desiredCount,
    }),
    addUnhealthyTaskCountAlarm: single(config, 'grpc-unhealthy-tasks', { maxUnhealthyTasks: 0 }),
  });
}
