import type { CfnResource } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  ENVIRONMENT_NAMES,
  type EnvironmentConfig,
  type EnvironmentName,
  loadEnvironmentConfigs,
} from '../../lib/config/environment-config.ts';
import { FUNCTION_SIZING } from '../../lib/config/function-sizing.ts';
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

const template = (env: EnvironmentName) => synthesized.templates[env].data;

function only(env: EnvironmentName, type: string): Resources[string] {
  const resources = Object.values(template(env).findResources(type) as Resources);
  expect(resources, type).toHaveLength(1);
  return resources[0] as Resources[string];
}

/** Logical id of a construct's L1 resource. */
const idOf = (construct: IConstruct) => logicalId(construct.node.defaultChild as CfnResource);

describe('the data stack: PostgreSQL', () => {
  it('runs PostgreSQL 17 encrypted, private, on the configured port with IAM auth and backups', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const { database } = configs[env];
      expect(only(env, 'AWS::RDS::DBInstance').Properties).toMatchObject({
        Engine: 'postgres',
        EngineVersion: '17',
        DBInstanceClass: `db.${database.instanceClass}`,
        DBName: 'auralink',
        Port: String(database.port),
        StorageEncrypted: true,
        StorageType: 'gp3',
        PubliclyAccessible: false,
        EnableIAMDatabaseAuthentication: true,
        BackupRetentionPeriod: database.backupRetentionDays,
        AllocatedStorage: String(database.allocatedStorageGiB),
        MaxAllocatedStorage: database.maxAllocatedStorageGiB,
        EnableCloudwatchLogsExports: ['postgresql'],
        CACertificateIdentifier: 'rds-ca-rsa2048-g1',
      });
      expect(database.port).not.toBe(5432);
    }
  });

  it('is Multi-AZ with deletion protection and a final snapshot in prod, not in dev', () => {
    const expected = {
      dev: { MultiAZ: false, DeletionProtection: false, policy: 'Delete' },
      staging: { MultiAZ: false, DeletionProtection: true, policy: 'Delete' },
      prod: { MultiAZ: true, DeletionProtection: true, policy: 'Snapshot' },
    } as const;
    for (const env of ENVIRONMENT_NAMES) {
      const instance = only(env, 'AWS::RDS::DBInstance');
      const { policy, ...properties } = expected[env];
      expect(instance.Properties).toMatchObject(properties);
      expect(instance.DeletionPolicy).toBe(policy);
      expect(instance.Properties.MultiAZ).toBe(configs[env].database.multiAz);
      expect(instance.Properties.DeletionProtection).toBe(configs[env].database.deletionProtection);
    }
  });

  it('places the instance, the proxy and Redis in the isolated data subnets', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const dataSubnets = synthesized.stages[env].network.vpc
        .selectSubnets({ subnetGroupName: 'data' })
        .subnets.map((subnet) => logicalId(subnet.node.defaultChild as CfnResource));
      expect(dataSubnets).toHaveLength(2);
      const importsOf = (value: unknown) =>
        dataSubnets.every((id) => JSON.stringify(value).includes(id));
      expect(importsOf(only(env, 'AWS::RDS::DBSubnetGroup').Properties.SubnetIds)).toBe(true);
      expect(importsOf(only(env, 'AWS::RDS::DBProxy').Properties.VpcSubnetIds)).toBe(true);
      expect(importsOf(only(env, 'AWS::ElastiCache::SubnetGroup').Properties.SubnetIds)).toBe(true);
    }
  });

  it('forces TLS in the parameter group and keeps the PostgreSQL log with the retention', () => {
    for (const env of ENVIRONMENT_NAMES) {
      template(env).hasResourceProperties('AWS::RDS::DBParameterGroup', {
        Family: 'postgres17',
        Parameters: Match.objectLike({ 'rds.force_ssl': '1' }),
      });
      template(env).hasResourceProperties('AWS::Logs::LogGroup', {
        LogGroupName: `/aws/rds/instance/auralink-aic-${env}/postgresql`,
        RetentionInDays: configs[env].logRetentionDays,
      });
    }
  });

  it('fronts the instance with RDS Proxy requiring TLS and IAM auth, logging in with the secret', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const attachment = idOf(synthesized.stages[env].data.databaseSecret as unknown as IConstruct);
      expect(only(env, 'AWS::RDS::DBProxy').Properties).toMatchObject({
        EngineFamily: 'POSTGRESQL',
        RequireTLS: true,
        // Clients present IAM tokens; the proxy itself logs in to the instance with the secret.
        Auth: [{ AuthScheme: 'SECRETS', IAMAuth: 'REQUIRED', SecretArn: { Ref: attachment } }],
      });
    }
  });

  it('rotates the credentials secret on the configured schedule, from inside the VPC', () => {
    for (const env of ENVIRONMENT_NAMES) {
      template(env).hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
        RotationRules: {
          ScheduleExpression: `rate(${configs[env].database.credentialsRotationDays} days)`,
        },
      });
      const rotation = only(env, 'AWS::Serverless::Application').Properties;
      expect(JSON.stringify(rotation.Parameters)).toMatch(/SecretsManagerEndpoint/);
      template(env).hasResourceProperties('AWS::SecretsManager::Secret', {
        Name: `auralink-aic/${env}/database`,
        GenerateSecretString: Match.objectLike({
          SecretStringTemplate: '{"username":"aic_admin"}',
        }),
      });
    }
  });

  it('keeps the secrets of a retained environment when the stack is deleted', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const secrets = Object.values(
        template(env).findResources('AWS::SecretsManager::Secret') as Resources,
      );
      expect(secrets).toHaveLength(2);
      for (const secret of secrets) {
        expect(secret.DeletionPolicy).toBe(configs[env].retainOnDelete ? 'Retain' : 'Delete');
      }
    }
  });

  it('lets only RDS Proxy and the rotation function reach the instance port', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const { data } = synthesized.stages[env];
      const databaseGroup = idOf(data.database.connections.securityGroups[0] as IConstruct);
      const ingress = securityGroupRules(template(env), databaseGroup, 'ingress');
      expect(ingress).toHaveLength(2);
      // The instance's port (configs[env].database.port), as CDK references it.
      const port = { 'Fn::GetAtt': [idOf(data.database), 'Endpoint.Port'] };
      for (const rule of ingress) {
        expect(rule).toMatchObject({ FromPort: port, ToPort: port });
        expect(rule.CidrIp).toBeUndefined();
        expect(rule.SourceSecurityGroupId).toBeDefined();
      }
    }
  });

  it('runs the migrations at deploy time from a trigger after the proxy, in the VPC', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const { data } = synthesized.stages[env];
      const trigger = only(env, 'Custom::Trigger');
      const fn = idOf(data.migrations.fn.function);
      expect(trigger.Properties).toMatchObject({
        InvocationType: 'RequestResponse',
        ExecuteOnHandlerChange: true,
        Timeout: String((FUNCTION_SIZING.migrate.timeoutSeconds + 60) * 1000),
      });
      expect(JSON.stringify(trigger.Properties.HandlerArn)).toMatch(
        /MigrateFunctionCurrentVersion/,
      );
      expect(trigger.DependsOn).toEqual(
        expect.arrayContaining([idOf(data.proxy), idOf(data.database)]),
      );
      const functions = template(env).findResources('AWS::Lambda::Function') as Resources;
      const properties = functions[fn]?.Properties ?? {};
      expect(properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        Timeout: FUNCTION_SIZING.migrate.timeoutSeconds,
        VpcConfig: expect.anything(),
      });
      const variables = (properties.Environment as { Variables: Record<string, unknown> })
        .Variables;
      expect(
        Object.keys(variables)
          .filter((key) => /^(DB|REDIS)_/.test(key))
          .sort(),
      ).toEqual(['DB_HOST', 'DB_IAM_AUTH', 'DB_NAME', 'DB_PORT', 'DB_USER']);
      expect(variables).toMatchObject({ DB_IAM_AUTH: 'true', DB_USER: 'aic_admin' });
      expect(variables.DB_HOST).toEqual({ 'Fn::GetAtt': [idOf(data.proxy), 'Endpoint'] });
      // It connects with IAM tokens: rds-db:connect as aic_admin on this proxy, no secret read.
      const role = idOf(data.migrations.fn.function.role as IConstruct);
      const policy = Object.values(template(env).findResources('AWS::IAM::Policy') as Resources)
        .filter((candidate) => JSON.stringify(candidate.Properties.Roles).includes(role))
        .map((candidate) => JSON.stringify(candidate.Properties.PolicyDocument))
        .join();
      expect(policy).toContain('"Action":"rds-db:connect"');
      expect(policy).toContain(`${idOf(data.proxy)}","DBProxyArn"`);
      expect(policy).toContain('/aic_admin');
      expect(policy).not.toContain('secretsmanager:GetSecretValue');
    }
  });
});

describe('the data stack: Redis', () => {
  it('encrypts in transit (required) and at rest, with an AUTH token from Secrets Manager', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const secret = idOf(synthesized.stages[env].data.redisAuthSecret);
      expect(only(env, 'AWS::ElastiCache::ReplicationGroup').Properties).toMatchObject({
        Engine: 'redis',
        TransitEncryptionEnabled: true,
        TransitEncryptionMode: 'required',
        AtRestEncryptionEnabled: true,
        Port: configs[env].cache.port,
        CacheNodeType: `cache.${configs[env].cache.nodeType}`,
        AuthToken: {
          'Fn::Join': ['', ['{{resolve:secretsmanager:', { Ref: secret }, ':SecretString:::}}']],
        },
      });
      expect(configs[env].cache.port).not.toBe(6379);
      template(env).hasResourceProperties('AWS::SecretsManager::Secret', {
        Name: `auralink-aic/${env}/redis-auth-token`,
        GenerateSecretString: { PasswordLength: 64, ExcludePunctuation: true },
      });
    }
  });

  it('is Multi-AZ with automatic failover in prod and a single node in dev', () => {
    const expected = {
      dev: { NumCacheClusters: 1, MultiAZEnabled: false, AutomaticFailoverEnabled: false },
      staging: { NumCacheClusters: 2, MultiAZEnabled: false, AutomaticFailoverEnabled: true },
      prod: { NumCacheClusters: 2, MultiAZEnabled: true, AutomaticFailoverEnabled: true },
    } as const;
    for (const env of ENVIRONMENT_NAMES) {
      expect(only(env, 'AWS::ElastiCache::ReplicationGroup').Properties).toMatchObject({
        ...expected[env],
        SnapshotRetentionLimit: configs[env].cache.snapshotRetentionDays,
      });
    }
  });

  it('accepts Redis connections only from security groups, on the Redis port', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const { data } = synthesized.stages[env];
      const group = idOf(data.redisConnections.securityGroups[0] as IConstruct);
      // The rules live in the stacks of the clients (API: 4 functions, gRPC: the tasks).
      const rules = (['data', 'api', 'grpc'] as const).flatMap((stack) =>
        securityGroupRules(synthesized.templates[env][stack], group, 'ingress').map((rule) => ({
          stack,
          rule,
        })),
      );
      expect(rules.filter(({ stack }) => stack === 'api')).toHaveLength(4);
      expect(rules.filter(({ stack }) => stack === 'grpc')).toHaveLength(1);
      for (const { rule } of rules) {
        expect(rule).toMatchObject({ FromPort: configs[env].cache.port });
        expect(rule.CidrIp).toBeUndefined();
      }
    }
  });
});
