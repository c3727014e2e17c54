import { readFileSync } from 'node:fs';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ENVIRONMENT_NAMES,
  type EnvironmentConfig,
  type EnvironmentName,
  loadEnvironmentConfigs,
} from '../../lib/config/environment-config.ts';
import {
  METRICS_PORT,
  SERVICE_DISCOVERY_NAME,
  serviceDiscoveryNamespace,
} from '../../lib/constructs/grpc/grpc-addresses.ts';
import { repoPath } from '../../lib/paths.ts';
import { type Resources, type SynthesizedApp, synthAicApp } from './app-fixture.ts';

let synthesized: SynthesizedApp;
let configs: Record<EnvironmentName, EnvironmentConfig>;

beforeAll(() => {
  synthesized = synthAicApp();
  configs = loadEnvironmentConfigs(synthesized.app);
});

const template = (env: EnvironmentName) => synthesized.templates[env].observability;

/** The dashboard body with its deploy-time tokens (region, API id) rendered as `<token>`. */
function dashboardBody(env: EnvironmentName): string {
  const dashboard = Object.values(
    template(env).findResources('AWS::CloudWatch::Dashboard') as Resources,
  )[0];
  const body = dashboard?.Properties.DashboardBody as { 'Fn::Join': [string, unknown[]] };
  const parts = body['Fn::Join'][1];
  return parts.map((part) => (typeof part === 'string' ? part : '<token>')).join('');
}

/**
 * An alarm's properties, with a single labelled metric (rendered as `Metrics: [{ MetricStat }]`)
 * flattened to the plain form (`MetricName`, `Namespace`, `Dimensions`, `Stat`).
 */
function alarm(env: EnvironmentName, name: string): Record<string, unknown> {
  const alarms = Object.values(template(env).findResources('AWS::CloudWatch::Alarm') as Resources);
  const found = alarms.find(
    (candidate) => candidate.Properties.AlarmName === `auralink-aic-${env}-${name}`,
  );
  expect(found, name).toBeDefined();
  const properties = found?.Properties ?? {};
  const metrics = properties.Metrics as
    | { MetricStat?: { Metric: Record<string, unknown>; Stat: string } }[]
    | undefined;
  const single = metrics?.length === 1 ? metrics[0]?.MetricStat : undefined;
  return single
    ? { ...properties, ...single.Metric, Stat: single.Stat }
    : { ...properties, Stat: properties.Statistic ?? properties.ExtendedStatistic };
}

describe('the observability stack', () => {
  it('graphs every service metric from the EMF namespace with the service dimension', () => {
    const metrics = [
      'FramesCompressed',
      'FramesDropped',
      'FramesUnchanged',
      'CompressionRatio',
      'BytesSaved',
      'Fallbacks',
      'FramesWithinBudget',
      'SSIM',
      'RequestLatency',
      'EncodeMs',
      'RateLimitAllowed',
      'RateLimitRejected',
      'RateLimitDegraded',
      'RedisBreakerOpen',
      'RedisBreakerHalfOpen',
      'RedisBreakerClosed',
      'DbConnectRetry',
      'DbConnectFailure',
      'InitialisationStalled',
      'Http5xx',
      'Http5xxBug',
      'Http4xx',
    ];
    for (const env of ENVIRONMENT_NAMES) {
      const body = dashboardBody(env);
      for (const metric of metrics) {
        expect(body, metric).toContain(`"AuraLink/AIC","${metric}","service","auralink-aic"`);
      }
      expect(body).toContain('"stat":"p95"');
      template(env).resourceCountIs('AWS::CloudWatch::Dashboard', 1);
      template(env).hasResourceProperties('AWS::CloudWatch::Dashboard', {
        DashboardName: `auralink-aic-${env}`,
      });
    }
  });

  it('draws every watched resource on the one dashboard of its environment', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const body = dashboardBody(env);
      for (const [namespace, metric] of [
        ['AWS/ApiGateway', '5xx'],
        ['AWS/Lambda', 'Errors'],
        ['AWS/Lambda', 'Throttles'],
        ['AWS/Lambda', 'IteratorAge'],
        ['AWS/Kinesis', 'IncomingRecords'],
        ['AWS/SQS', 'ApproximateNumberOfMessagesVisible'],
        ['AWS/RDS', 'CPUUtilization'],
        ['AWS/RDS', 'FreeStorageSpace'],
        ['AWS/RDS', 'DatabaseConnections'],
        ['AWS/RDS', 'ClientConnectionsSetupFailedAuth'],
        ['AWS/ElastiCache', 'EngineCPUUtilization'],
        ['AWS/ElastiCache', 'Evictions'],
        ['AWS/ECS', 'CPUUtilization'],
        ['AWS/NetworkELB', 'HealthyHostCount'],
        ['SecretsManager', 'DaysSinceLastRotation'],
      ]) {
        expect(body, `${namespace} ${metric}`).toContain(`"${namespace}","${metric}"`);
      }
    }
  });

  it('alarms on the product: latency, breaker, rejections, DB failures, stalls, volume, frames', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const { alarms } = configs[env];
      expect(alarm(env, 'latency-p95')).toMatchObject({
        Namespace: 'AuraLink/AIC',
        MetricName: 'RequestLatency',
        Stat: 'p95',
        Threshold: alarms.latencyP95Ms,
        Dimensions: [{ Name: 'service', Value: 'auralink-aic' }],
        DatapointsToAlarm: 2,
        EvaluationPeriods: 3,
      });
      for (const [name, metricName] of [
        ['redis-breaker-open', 'RedisBreakerOpen'],
        ['db-connect-failures', 'DbConnectFailure'],
        ['initialisation-stalled', 'InitialisationStalled'],
      ]) {
        expect(alarm(env, name as string)).toMatchObject({
          MetricName: metricName,
          Stat: 'Sum',
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          DatapointsToAlarm: 1,
        });
      }
      expect(alarm(env, 'rate-limit-rejections')).toMatchObject({
        MetricName: 'RateLimitRejected',
        Threshold: alarms.rateLimitRejectionsPer5Min,
      });
      const expression = (name: string) =>
        (alarm(env, name).Metrics as { Expression?: string }[]).find((m) => m.Expression)
          ?.Expression;
      expect(alarm(env, 'fallback-rate')).toMatchObject({
        Threshold: alarms.fallbackRatePercent,
        ComparisonOperator: 'GreaterThanThreshold',
        DatapointsToAlarm: 3,
      });
      expect(expression('fallback-rate')).toBe(
        'IF(frames >= 20, 100 * FILL(fallbacks, 0) / frames, 0)',
      );
      expect(alarm(env, 'within-budget-rate')).toMatchObject({
        Threshold: alarms.withinBudgetMinPercent,
        ComparisonOperator: 'LessThanThreshold',
      });
      expect(expression('within-budget-rate')).toBe(
        'IF(frames >= 20, 100 * FILL(frameswithinbudget, 0) / frames, 100)',
      );
      expect(alarm(env, 'request-volume-anomaly')).toMatchObject({
        ComparisonOperator: 'LessThanLowerOrGreaterThanUpperThreshold',
      });
      expect(expression('request-volume-anomaly')).toMatch(/^ANOMALY_DETECTION_BAND\(\w+,3\)$/);
    }
    expect(configs.prod.alarms).not.toEqual(configs.dev.alarms);
  });

  it('alarms on every resource: API, functions, queues, database, backups, proxy, Redis, tasks, secrets', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const config = configs[env];
      expect(alarm(env, 'http-5xx-rate')).toMatchObject({
        Threshold: config.alarms.http5xxRatePercent / 100,
        DatapointsToAlarm: 2,
        EvaluationPeriods: 3,
      });
      const functions = ['health', 'compress', 'network', 'dashboard', 'alerts'];
      for (const name of [...functions, 'originAuthorizer', 'metrics-consumer']) {
        expect(alarm(env, `${name}-function-Fault-Rate-Critical`).Threshold).toBe(0.05);
        expect(alarm(env, `${name}-function-Throttled-Count-Critical`).Threshold).toBe(0);
      }
      expect(alarm(env, 'metrics-consumer-iterator-age')).toMatchObject({
        MetricName: 'IteratorAge',
        Threshold: config.alarms.metricsIteratorAgeSeconds * 1000,
      });
      expect(alarm(env, 'metrics-failed-batches')).toMatchObject({
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
      });
      expect(alarm(env, 'alerts-dead-letters')).toMatchObject({
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Threshold: 0,
        DatapointsToAlarm: 1,
      });
      for (const metric of ['NumberOfBackupJobsFailed', 'NumberOfCopyJobsFailed']) {
        expect(alarm(env, `backup-${metric}`)).toMatchObject({
          Namespace: 'AWS/Backup',
          MetricName: metric,
          Dimensions: [{ Name: 'BackupVaultName', Value: `auralink-aic-${env}-database` }],
          Threshold: 1,
        });
      }
      expect(alarm(env, 'database-cpu').MetricName).toBe('CPUUtilization');
      expect(alarm(env, 'database-free-storage').Threshold).toBe(
        config.database.allocatedStorageGiB * 0.1 * 1024 ** 3,
      );
      expect(alarm(env, 'database-proxy-auth-failures').MetricName).toBe(
        'ClientConnectionsSetupFailedAuth',
      );
      for (let node = 1; node <= 1 + config.cache.replicas; node++) {
        for (const suffix of ['CPU-Usage-RedisEngine', 'Items-Evicted', 'Memory-Swap']) {
          expect(alarm(env, `redis-${node}-${suffix}-Critical`).Dimensions).toEqual([
            { Name: 'CacheClusterId', Value: `auralink-aic-${env}-00${node}` },
          ]);
        }
      }
      expect(alarm(env, 'grpc-healthy-tasks')).toMatchObject({
        MetricName: 'HealthyHostCount',
        Threshold: config.grpc.desiredCount,
        ComparisonOperator: 'LessThanThreshold',
      });
      for (const name of ['grpc-unhealthy-tasks', 'grpc-cpu', 'grpc-memory']) alarm(env, name);
      for (const secret of ['master', 'app', 'migrator']) {
        expect(alarm(env, `secret-${secret}-DaysSinceUpdate-Critical`)).toMatchObject({
          MetricName: 'DaysSinceLastRotation',
          Threshold: config.database.credentialsRotationDays + 2,
          TreatMissingData: 'ignore',
        });
      }
    }
  });

  it('notifies the alarm topic on alarm and recovery', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const topic = Object.keys(template(env).findResources('AWS::SNS::Topic'))[0];
      const alarms = Object.values(
        template(env).findResources('AWS::CloudWatch::Alarm') as Resources,
      );
      expect(alarms.length).toBeGreaterThan(35);
      for (const { Properties } of alarms) {
        expect(Properties.AlarmActions).toEqual([{ Ref: topic }]);
        expect(Properties.OKActions).toEqual([{ Ref: topic }]);
        expect(String(Properties.AlarmName)).toMatch(new RegExp(`^auralink-aic-${env}-`));
      }
    }
  });

  it("encrypts the rotation publisher's log group, reserves its concurrency and narrows its role", () => {
    for (const env of ENVIRONMENT_NAMES) {
      const roles = Object.values(template(env).findResources('AWS::IAM::Role') as Resources);
      expect(roles.map((role) => role.Properties.ManagedPolicyArns)).toEqual([undefined]);
      const policies = Object.values(template(env).findResources('AWS::IAM::Policy') as Resources);
      expect(policies).toHaveLength(1);
      const document = policies[0]?.Properties.PolicyDocument as {
        Statement: Record<string, unknown>[];
      };
      const statements = document.Statement;
      const describe = statements.find((s) => s.Action === 'secretsmanager:DescribeSecret');
      expect(JSON.stringify(describe?.Resource)).toMatch(
        new RegExp(
          ['database', 'database-app', 'database-migrator']
            .map((name) => `secret:auralink-aic/${env}/${name}-\\?{6}`)
            .join('.*'),
        ),
      );
      expect(statements.map((s) => s.Action)).toEqual([
        'secretsmanager:DescribeSecret',
        'cloudwatch:PutMetricData',
        ['logs:CreateLogStream', 'logs:PutLogEvents'],
      ]);
      const groups = Object.values(template(env).findResources('AWS::Logs::LogGroup') as Resources);
      expect(groups).toHaveLength(1);
      expect(groups[0]?.Properties.KmsKeyId).toBeDefined();
      expect(groups[0]?.Properties.RetentionInDays).toBe(configs[env].logRetentionDays);
      template(env).hasResourceProperties('AWS::Lambda::Function', {
        ReservedConcurrentExecutions: 3,
      });
    }
  });

  it('encrypts the topic with a rotated key, requires TLS and mails the configured address', () => {
    for (const env of ENVIRONMENT_NAMES) {
      template(env).hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
      template(env).hasResourceProperties('AWS::SNS::Subscription', {
        Protocol: 'email',
        Endpoint: configs[env].alarmEmail,
      });
      const topic = Object.values(template(env).findResources('AWS::SNS::Topic') as Resources)[0];
      expect(topic?.Properties.KmsMasterKeyId).toBeDefined();
      template(env).hasResourceProperties('AWS::SNS::TopicPolicy', {
        PolicyDocument: {
          Statement: [
            Match.objectLike({
              Effect: 'Deny',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
          ],
        },
      });
    }
  });
});

describe('the Prometheus scrape configuration', () => {
  const scrape = readFileSync(repoPath('deploy/prometheus/scrape.yml'), 'utf8');

  it('has one job per environment on the DNS name and port the gRPC stack registers', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const job = new RegExp(
        `- job_name: auralink-aic-grpc-${env}\\n(?:    .*\\n)*?` +
          `      - names: \\[["']${SERVICE_DISCOVERY_NAME}\\.${serviceDiscoveryNamespace(env).replace(/\./g, '\\.')}["']\\]\\n` +
          `        type: A\\n        port: ${METRICS_PORT}\\n`,
      );
      expect(scrape, env).toMatch(job);
    }
    expect(scrape).toMatch(/metrics_path: \/metrics/);
  });
});
