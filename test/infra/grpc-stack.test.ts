import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type CfnResource, Validations } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import { AssetManifestArtifact } from 'aws-cdk-lib/cx-api';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ENVIRONMENT_NAMES,
  type EnvironmentConfig,
  type EnvironmentName,
  loadEnvironmentConfigs,
} from '../../lib/config/environment-config.ts';
import { GRPC_PORT, METRICS_PORT } from '../../lib/constructs/grpc/grpc-addresses.ts';
import type { GrpcLoadBalancer } from '../../lib/constructs/grpc/grpc-load-balancer.ts';
import {
  logicalId,
  type Resources,
  type SynthesizedApp,
  securityGroupRules,
  synthAicApp,
} from './app-fixture.ts';

let synthesized: SynthesizedApp;
let configs: Record<EnvironmentName, EnvironmentConfig>;

beforeAll(() => {
  synthesized = synthAicApp();
  configs = loadEnvironmentConfigs(synthesized.app);
});

const template = (env: EnvironmentName) => synthesized.templates[env].grpc;
const idOf = (construct: IConstruct) => logicalId(construct.node.defaultChild as CfnResource);
/** The load balancer construct of a stage's gRPC stack (its access logs). */
const grpc = (env: EnvironmentName) =>
  synthesized.stages[env].grpc.node.findChild('GrpcLoadBalancer') as GrpcLoadBalancer;

function only(env: EnvironmentName, type: string): Resources[string] {
  const resources = Object.values(template(env).findResources(type) as Resources);
  expect(resources, type).toHaveLength(1);
  return resources[0] as Resources[string];
}

interface ContainerDefinition {
  Environment: { Name: string; Value: unknown }[];
  Secrets: { Name: string; ValueFrom: unknown }[];
  [key: string]: unknown;
}

const container = (env: EnvironmentName) =>
  (
    only(env, 'AWS::ECS::TaskDefinition').Properties.ContainerDefinitions as ContainerDefinition[]
  )[0];

describe('the gRPC stack', () => {
  it('runs arm64 Fargate tasks sized per environment, in a cluster with Container Insights', () => {
    for (const env of ENVIRONMENT_NAMES) {
      expect(only(env, 'AWS::ECS::Cluster').Properties.ClusterSettings).toEqual([
        { Name: 'containerInsights', Value: 'enabled' },
      ]);
      expect(only(env, 'AWS::ECS::TaskDefinition').Properties).toMatchObject({
        RequiresCompatibilities: ['FARGATE'],
        NetworkMode: 'awsvpc',
        RuntimePlatform: { CpuArchitecture: 'ARM64', OperatingSystemFamily: 'LINUX' },
        Cpu: String(configs[env].grpc.cpu),
        Memory: String(configs[env].grpc.memoryMiB),
      });
    }
  });

  it('builds the image from the gRPC Dockerfile for linux/arm64, with a small build context', () => {
    const assembly = synthesized.stages.dev.synth();
    const images = assembly.artifacts
      .filter((artifact) => artifact instanceof AssetManifestArtifact)
      .flatMap((manifest) => Object.values(manifest.contents.dockerImages ?? {}));
    expect(images).toHaveLength(1);
    const source = images[0]?.source ?? {};
    expect(source).toMatchObject({
      dockerFile: 'functions/grpc/Dockerfile',
      platform: 'linux/arm64',
    });
    // Only what the Dockerfile copies: no node_modules, cdk.out, tests or .git in the context.
    const context = join(assembly.directory, source.directory ?? '');
    expect(readdirSync(context).sort()).toEqual([
      'functions',
      'package-lock.json',
      'package.json',
      'proto',
    ]);
  });

  it('logs with awslogs, checks /health on the metrics port and drains within 30 s', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const definition = container(env);
      expect(definition).toMatchObject({
        Essential: true,
        LogConfiguration: {
          LogDriver: 'awslogs',
          Options: { 'awslogs-stream-prefix': 'grpc', mode: 'non-blocking' },
        },
        PortMappings: [
          { ContainerPort: GRPC_PORT, Protocol: 'tcp' },
          { ContainerPort: METRICS_PORT, Protocol: 'tcp' },
        ],
        StopTimeout: 30,
        HealthCheck: { Interval: 15, Timeout: 3, Retries: 3, StartPeriod: 20 },
      });
      const command = (definition?.HealthCheck as { Command: string[] } | undefined)?.Command ?? [];
      expect(command.slice(0, 3)).toEqual(['CMD', 'node', '-e']);
      expect(command[3]).toContain(`http://127.0.0.1:${METRICS_PORT}/health`);
      const logsKey = idOf(synthesized.stages[env].grpc.node.findChild('LogsKey'));
      template(env).hasResourceProperties('AWS::Logs::LogGroup', {
        LogGroupName: `/auralink/aic/${env}/grpc`,
        RetentionInDays: configs[env].logRetentionDays,
        KmsKeyId: { 'Fn::GetAtt': [logsKey, 'Arn'] },
      });
      template(env).resourceCountIs('AWS::Logs::LogGroup', 1);
    }
  });

  it('verifies tokens against the issuer JWKS (no shared key) and passes secrets as ARNs', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const definition = container(env) as ContainerDefinition;
      expect(definition.Secrets).toBeUndefined();
      template(env).resourceCountIs('AWS::SecretsManager::Secret', 0);
      const variables = Object.fromEntries(definition.Environment.map((e) => [e.Name, e.Value]));
      const jwt = configs[env].jwt;
      expect(jwt).toBeDefined();
      expect(variables).toMatchObject({
        GRPC_PORT: String(GRPC_PORT),
        METRICS_PORT: String(METRICS_PORT),
        DB_PORT: '5432',
        DB_NAME: 'auralink',
        DB_IAM_AUTH: 'true',
        DB_USER: 'aic_app',
        AIC_JWT_VERIFY: 'jwks',
        AIC_JWT_ISSUER: jwt?.issuer,
        AIC_JWT_AUDIENCE: jwt?.audience.join(','),
        AIC_JWT_JWKS_URL: `${jwt?.issuer.replace(/\/$/, '')}/.well-known/jwks.json`,
        POWERTOOLS_SERVICE_NAME: 'auralink-aic',
        POWERTOOLS_METRICS_NAMESPACE: 'AuraLink/AIC',
        POWERTOOLS_TRACE_ENABLED: 'false',
      });
      expect(variables.DB_SECRET_ARN).toBeUndefined();
      // Redis takes IAM auth tokens for the service user on this replication group: no secret.
      expect(variables.REDIS_AUTH_SECRET_ARN).toBeUndefined();
      expect(variables).toMatchObject({
        REDIS_IAM_AUTH: 'true',
        REDIS_USER: `aic-app-${env}`,
        REDIS_CACHE_NAME: `auralink-aic-${env}`,
      });
      expect(JSON.stringify(variables.REDIS_URL)).toMatch(
        new RegExp(`"rediss://",.*":${configs[env].cache.port}"`),
      );
    }
  });

  it('lets the task connect to the proxy as aic_app and to Redis as the service user, and put frame events, nothing more', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const { grpc } = synthesized.stages[env];
      const policies = template(env).findResources('AWS::IAM::ManagedPolicy') as Resources;
      const taskPolicy = Object.values(policies).find((policy) =>
        JSON.stringify(policy.Properties.Roles).includes(idOf(grpc.taskDefinition.taskRole)),
      );
      const document = taskPolicy?.Properties.PolicyDocument as {
        Statement: { Action: string[]; Resource: unknown[] }[];
      };
      expect(document.Statement).toHaveLength(3);
      const [connect, redis, put] = document.Statement;
      expect(connect?.Action).toBe('rds-db:connect');
      expect(JSON.stringify(connect?.Resource)).toMatch(/:dbuser:.*DBProxyArn.*\/aic_app"\]\]\}$/);
      expect(redis?.Action).toBe('elasticache:Connect');
      const redisResources = [redis?.Resource].flat().map((arn) => JSON.stringify(arn));
      expect(redisResources).toHaveLength(2);
      expect(redisResources[0]).toMatch(
        new RegExp(`:replicationgroup:auralink-aic-${env}"\\]\\]\\}$`),
      );
      expect(redisResources[1]).toMatch(new RegExp(`:user:aic-app-${env}"\\]\\]\\}$`));
      expect([put?.Action].flat().sort()).toEqual([
        'kinesis:ListShards',
        'kinesis:PutRecord',
        'kinesis:PutRecords',
      ]);
    }
  });

  it('lets ECS pull only the asset image and write only the log group, through a managed policy the task definition waits for', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const { grpc } = synthesized.stages[env];
      const executionRole = grpc.taskDefinition.executionRole;
      expect(executionRole).toBeDefined();
      const policy = (executionRole as IConstruct).node.findChild('Policy');
      const policies = template(env).findResources('AWS::IAM::ManagedPolicy') as Resources;
      const document = policies[idOf(policy)]?.Properties.PolicyDocument as {
        Statement: { Action: string | string[]; Resource: unknown }[];
      };
      const actions = document.Statement.flatMap((statement) => [statement.Action].flat());
      expect(actions.sort()).toEqual(
        [
          'ecr:BatchCheckLayerAvailability',
          'ecr:BatchGetImage',
          'ecr:GetAuthorizationToken',
          'ecr:GetDownloadUrlForLayer',
          'logs:CreateLogStream',
          'logs:PutLogEvents',
        ].sort(),
      );
      const definition = only(env, 'AWS::ECS::TaskDefinition');
      expect(definition.DependsOn).toEqual(expect.arrayContaining([idOf(policy)]));
    }
  });

  it('deploys with the circuit breaker and rollback, in the application subnets, no public IP', () => {
    for (const env of ENVIRONMENT_NAMES) {
      expect(only(env, 'AWS::ECS::Service').Properties).toMatchObject({
        LaunchType: 'FARGATE',
        DesiredCount: configs[env].grpc.desiredCount,
        DeploymentConfiguration: {
          DeploymentCircuitBreaker: { Enable: true, Rollback: true },
          MinimumHealthyPercent: 100,
          MaximumPercent: 200,
        },
        NetworkConfiguration: { AwsvpcConfiguration: { AssignPublicIp: 'DISABLED' } },
        LoadBalancers: [{ ContainerName: 'grpc', ContainerPort: GRPC_PORT }],
      });
    }
  });

  it('terminates TLS on 443 (HTTP/2 only) with the configured certificate in staging and prod', () => {
    for (const env of ['staging', 'prod'] as const) {
      expect(configs[env].grpc.certificateArn).toBeDefined();
      expect(only(env, 'AWS::ElasticLoadBalancingV2::Listener').Properties).toMatchObject({
        Port: 443,
        Protocol: 'TLS',
        Certificates: [{ CertificateArn: configs[env].grpc.certificateArn }],
        AlpnPolicy: ['HTTP2Only'],
        SslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06',
      });
    }
  });

  it('listens in plain TCP on the gRPC port in dev, which has no certificate', () => {
    expect(configs.dev.grpc.certificateArn).toBeUndefined();
    expect(only('dev', 'AWS::ElasticLoadBalancingV2::Listener').Properties).toMatchObject({
      Port: GRPC_PORT,
      Protocol: 'TCP',
    });
    template('dev').hasOutput('GrpcEndpoint', {
      Description: Match.stringLikeRegexp('plain TCP'),
    });
  });

  it('forwards to the gRPC port and health-checks /health on the metrics port', () => {
    for (const env of ENVIRONMENT_NAMES) {
      expect(only(env, 'AWS::ElasticLoadBalancingV2::TargetGroup').Properties).toMatchObject({
        Port: GRPC_PORT,
        Protocol: 'TCP',
        TargetType: 'ip',
        HealthCheckProtocol: 'HTTP',
        HealthCheckPort: String(METRICS_PORT),
        HealthCheckPath: '/health',
      });
    }
  });

  it('puts an internet-facing NLB with versioned, KMS-encrypted access logs in the public subnets', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const properties = only(env, 'AWS::ElasticLoadBalancingV2::LoadBalancer').Properties;
      expect(properties).toMatchObject({ Type: 'network', Scheme: 'internet-facing' });
      expect(JSON.stringify(properties.Subnets)).toMatch(/publicSubnet1.*publicSubnet2/);
      expect(properties.LoadBalancerAttributes).toEqual(
        expect.arrayContaining([
          { Key: 'access_logs.s3.enabled', Value: 'true' },
          { Key: 'deletion_protection.enabled', Value: String(configs[env].retainOnDelete) },
        ]),
      );
      const { accessLogs } = grpc(env);
      const key = idOf(accessLogs.key);
      template(env).hasResourceProperties('AWS::S3::Bucket', {
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            {
              BucketKeyEnabled: true,
              ServerSideEncryptionByDefault: {
                SSEAlgorithm: 'aws:kms',
                KMSMasterKeyID: { 'Fn::GetAtt': [key, 'Arn'] },
              },
            },
          ],
        },
        PublicAccessBlockConfiguration: Match.objectLike({ BlockPublicAcls: true }),
        VersioningConfiguration: { Status: 'Enabled' },
        LifecycleConfiguration: {
          Rules: Match.arrayWith([
            {
              Id: 'expire-previous-versions',
              NoncurrentVersionExpiration: { NoncurrentDays: 30 },
              ExpiredObjectDeleteMarker: true,
              Status: 'Enabled',
            },
          ]),
        },
      });
      // The key is rotated, and the log delivery service may use it for this account's logs only.
      const keyProperties = template(env).findResources('AWS::KMS::Key')[key]?.Properties;
      expect(keyProperties?.EnableKeyRotation).toBe(true);
      const keyPolicy = keyProperties?.KeyPolicy as
        | { Statement: { Principal: unknown; Condition?: Record<string, unknown> }[] }
        | undefined;
      const delivery = (keyPolicy?.Statement ?? []).filter(
        (statement) =>
          JSON.stringify(statement.Principal) ===
          JSON.stringify({ Service: 'delivery.logs.amazonaws.com' }),
      );
      expect(delivery).toHaveLength(1);
      expect(delivery[0]?.Condition).toMatchObject({
        StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } },
      });
    }
  });

  it('protects the NLB from deletion where the environment is retained, and acknowledges why not elsewhere', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const acknowledged: string[] = [];
      for (const construct of synthesized.stages[env].grpc.node.findAll()) {
        for (const entry of construct.node.metadata) {
          if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
          for (const key of Object.keys(entry.data as Record<string, string>)) {
            const id = key.replace(/^annotation::/i, '');
            if (id.startsWith('NIST.800.53.R5-ELB')) acknowledged.push(id);
          }
        }
      }
      expect(acknowledged.sort(), env).toEqual(
        [
          ...(configs[env].retainOnDelete ? [] : ['NIST.800.53.R5-ELBDeletionProtectionEnabled']),
          ...(configs[env].grpc.certificateArn
            ? []
            : ['NIST.800.53.R5-ELBv2ACMCertificateRequired']),
        ].sort(),
      );
    }
    expect(configs.prod.retainOnDelete).toBe(true);
  });

  it('opens the tasks to the NLB (gRPC, health) and the scraper (metrics) only', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const { grpc } = synthesized.stages[env];
      const taskGroup = idOf(grpc.service.connections.securityGroups[0] as IConstruct);
      const ingress = securityGroupRules(template(env), taskGroup, 'ingress');
      expect(ingress.map((rule) => rule.ToPort).sort()).toEqual(
        [GRPC_PORT, METRICS_PORT, METRICS_PORT].sort(),
      );
      for (const rule of ingress) expect(rule.CidrIp).toBeUndefined();
      const egress = securityGroupRules(template(env), taskGroup, 'egress');
      expect(egress.map((rule) => rule.ToPort).sort()).toEqual(
        [443, 5432, configs[env].cache.port].sort(),
      );
    }
  });

  it('registers the tasks in the private DNS namespace the Prometheus configuration names', () => {
    for (const env of ENVIRONMENT_NAMES) {
      template(env).hasResourceProperties('AWS::ServiceDiscovery::PrivateDnsNamespace', {
        Name: `auralink-aic-${env}.internal`,
      });
      template(env).hasResourceProperties('AWS::ServiceDiscovery::Service', {
        Name: 'grpc',
        DnsConfig: Match.objectLike({ DnsRecords: [{ TTL: 10, Type: 'A' }] }),
      });
    }
  });
});
