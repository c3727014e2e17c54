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
      'CompressionRatio',
      'SSIM',
      'RequestLatency',
      'RateLimitAllowed',
      'RateLimitRejected',
      'RateLimitDegraded',
      'RedisBreakerOpen',
      'RedisBreakerHalfOpen',
      'RedisBreakerClosed',
      'DbConnectRetry',
      'DbConnectFailure',
      'Http5xx',
      'Http5xxBug',
      'Http4xx',
    ];
    for (const env of ENVIRONMENT_NAMES) {
      const body = dashboardBody(env);
      for (const metric of metrics) {
        expect(body, metric).toContain(`["AuraLink/AIC","${metric}","service","auralink-aic"`);
      }
      expect(body).toContain('"stat":"p95"');
      template(env).hasResourceProperties('AWS::CloudWatch::Dashboard', {
        DashboardName: `auralink-aic-${env}`,
      });
    }
  });

  it('alarms on the 5xx rate, latency p95, breaker open, rejections and DB failures', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const { alarms } = configs[env];
      expect(alarm(env, 'http-5xx-rate')).toMatchObject({
        Threshold: alarms.http5xxRatePercent,
        EvaluationPeriods: 3,
        DatapointsToAlarm: 2,
      });
      const rate = alarm(env, 'http-5xx-rate').Metrics as { Expression?: string }[];
      expect(rate.find((metric) => metric.Expression)?.Expression).toBe(
        'IF(requests >= 20, 100 * errors / requests, 0)',
      );
      expect(alarm(env, 'latency-p95')).toMatchObject({
        Namespace: 'AuraLink/AIC',
        MetricName: 'RequestLatency',
        Stat: 'p95',
        Threshold: alarms.latencyP95Ms,
        Dimensions: [{ Name: 'service', Value: 'auralink-aic' }],
      });
      expect(alarm(env, 'redis-breaker-open')).toMatchObject({
        MetricName: 'RedisBreakerOpen',
        Stat: 'Sum',
        Threshold: 1,
      });
      expect(alarm(env, 'rate-limit-rejections')).toMatchObject({
        MetricName: 'RateLimitRejected',
        Threshold: alarms.rateLimitRejectionsPer5Min,
      });
      expect(alarm(env, 'db-connect-failures')).toMatchObject({
        MetricName: 'DbConnectFailure',
        Threshold: 1,
      });
    }
    expect(configs.prod.alarms).not.toEqual(configs.dev.alarms);
  });

  it('notifies the alarm topic on alarm and recovery, ignoring missing data', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const topic = Object.keys(template(env).findResources('AWS::SNS::Topic'))[0];
      const alarms = Object.values(
        template(env).findResources('AWS::CloudWatch::Alarm') as Resources,
      );
      expect(alarms).toHaveLength(7);
      for (const { Properties } of alarms) {
        expect(Properties.AlarmActions).toEqual([{ Ref: topic }]);
        expect(Properties.OKActions).toEqual([{ Ref: topic }]);
        expect(Properties.TreatMissingData).toBe('notBreaching');
      }
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
