import { CfnResource } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { REDIS_ACCESS_STRING } from '../../functions/core/contracts/redis-access.ts';
import {
  ENVIRONMENT_NAMES,
  type EnvironmentConfig,
  type EnvironmentName,
  loadEnvironmentConfigs,
} from '../../lib/config/environment-config.ts';
import { FUNCTION_SIZING } from '../../lib/config/function-sizing.ts';
import type { AicFunction } from '../../lib/constructs/aic-function.ts';
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

/** Logical id of a construct's L1 resource (through its default children). */
function idOf(construct: IConstruct): string {
  let resource: IConstruct | undefined = construct;
  while (resource && !(resource instanceof CfnResource)) resource = resource.node.defaultChild;
  expect(resource, construct.node.path).toBeDefined();
  return logicalId(resource as CfnResource);
}

/** The template properties of a function of the data stack. */
function functionProperties(env: EnvironmentName, fn: AicFunction): Record<string, unknown> {
  const functions = template(env).findResources('AWS::Lambda::Function') as Resources;
  const properties = functions[idOf(fn.function)]?.Properties;
  expect(properties).toBeDefined();
  return properties as Record<string, unknown>;
}

/** The environment variables of a function of the data stack. */
function environmentOf(env: EnvironmentName, fn: AicFunction): Record<string, unknown> {
  return (functionProperties(env, fn).Environment as { Variables: Record<string, unknown> })
    .Variables;
}

interface Statement {
  Action: string | string[];
  Resource: unknown;
}

/** The statements of the policies of a function's role. */
function roleStatements(env: EnvironmentName, fn: AicFunction): Statement[] {
  const role = idOf(fn.function.role as IConstruct);
  return Object.values(template(env).findResources('AWS::IAM::Policy') as Resources)
    .filter((policy) => JSON.stringify(policy.Properties.Roles).includes(`"${role}"`))
    .flatMap(
      (policy) => (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement,
    );
}

/** The database users that `rds-db:connect` statements name (`...:dbuser:<proxy>/<user>`). */
function connectUsers(statements: readonly Statement[]): string[] {
  return statements
    .filter((statement) => statement.Action === 'rds-db:connect')
    .flatMap((statement) => [statement.Resource].flat())
    .map((resource) => /\/(\w+)"\]\]\}$/.exec(JSON.stringify(resource))?.[1] ?? '?')
    .sort();
}

/** Logical id of the rotation schedule of a secret (its attachment, as the proxy knows it). */
function rotationScheduleId(env: EnvironmentName, secret: IConstruct): string {
  const schedules = Object.entries(
    template(env).findResources('AWS::SecretsManager::RotationSchedule') as Resources,
  ).filter(
    ([, schedule]) =>
      JSON.stringify(schedule.Properties.SecretId) === JSON.stringify({ Ref: idOf(secret) }),
  );
  expect(schedules).toHaveLength(1);
  return (schedules[0] as [string, unknown])[0];
}

/** The rotation schedule of a secret. */
function rotationScheduleOf(env: EnvironmentName, secret: IConstruct): Record<string, unknown> {
  const schedules = template(env).findResources(
    'AWS::SecretsManager::RotationSchedule',
  ) as Resources;
  return (schedules[rotationScheduleId(env, secret)] as Resources[string]).Properties;
}

/** The rotation application (Secrets Manager's, from the Serverless repository) of a secret. */
function rotationOf(env: EnvironmentName, secret: IConstruct): Resources[string] {
  const lambdaArn = rotationScheduleOf(env, secret).RotationLambdaARN as {
    'Fn::GetAtt': [string, string];
  };
  const rotations = template(env).findResources('AWS::Serverless::Application') as Resources;
  const rotation = rotations[lambdaArn['Fn::GetAtt'][0]];
  expect(rotation).toBeDefined();
  return rotation as Resources[string];
}

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

  it('fronts the instance with RDS Proxy requiring TLS and IAM auth, logging in with the three secrets', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const { data } = synthesized.stages[env];
      const login = (secret: IConstruct) => ({
        AuthScheme: 'SECRETS',
        IAMAuth: 'REQUIRED',
        SecretArn: { Ref: idOf(secret) },
      });
      expect(only(env, 'AWS::RDS::DBProxy').Properties).toMatchObject({
        EngineFamily: 'POSTGRESQL',
        RequireTLS: true,
        // Clients present IAM tokens; the proxy logs in as the token's user with that user's secret.
        Auth: [
          login(data.databaseSecret),
          login(data.appDatabaseSecret),
          login(data.migratorDatabaseSecret),
        ],
      });
    }
  });

  it('keeps a credentials secret per database user, each rotated single-user on the schedule from inside the VPC', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const { data } = synthesized.stages[env];
      const byUser = [
        [data.databaseSecret, 'database', 'aic_admin'],
        [data.appDatabaseSecret, 'database-app', 'aic_app'],
        [data.migratorDatabaseSecret, 'database-migrator', 'aic_migrator'],
      ] as const;
      expect(
        Object.keys(template(env).findResources('AWS::SecretsManager::RotationSchedule')),
      ).toHaveLength(byUser.length);
      const mappings = template(env).toJSON().Mappings as Record<
        string,
        { aws: { applicationId: string } }
      >;
      const rotationParameters = byUser.map(([secret, name, username]) => {
        template(env).hasResourceProperties('AWS::SecretsManager::Secret', {
          Name: `auralink-aic/${env}/${name}`,
          GenerateSecretString: Match.objectLike({
            SecretStringTemplate: `{"username":"${username}"}`,
          }),
        });
        const schedule = rotationScheduleOf(env, secret);
        expect(schedule.RotationRules, username).toEqual({
          ScheduleExpression: `rate(${configs[env].database.credentialsRotationDays} days)`,
        });
        const rotation = rotationOf(env, secret).Properties;
        // The single-user application: the user name in the secret never changes, and the proxy
        // finds a client's secret by that name.
        const location = rotation.Location as { ApplicationId: { 'Fn::FindInMap': [string] } };
        expect(mappings[location.ApplicationId['Fn::FindInMap'][0]]?.aws.applicationId).toMatch(
          /applications\/SecretsManagerRDSPostgreSQLRotationSingleUser$/,
        );
        const parameters = rotation.Parameters as Record<string, unknown>;
        expect(JSON.stringify(parameters.endpoint), username).toMatch(/SecretsManagerEndpoint/);
        return parameters;
      });
      // The role rotations run where the master's does: same subnets, endpoint, security group.
      const [master, ...roles] = rotationParameters;
      for (const parameters of roles) {
        for (const key of ['endpoint', 'vpcSubnetIds', 'vpcSecurityGroupIds']) {
          expect(parameters?.[key], key).toEqual(master?.[key]);
        }
      }
    }
  });

  it('rotates the role secrets only after the bootstrap gave the roles their logins and the migrations ran', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const { data } = synthesized.stages[env];
      const steps = [idOf(data.bootstrap.trigger), idOf(data.migrations.trigger)];
      for (const secret of [data.appDatabaseSecret, data.migratorDatabaseSecret]) {
        // The schedule takes the rotation function from the application, which waits for both.
        expect(rotationOf(env, secret).DependsOn).toEqual(expect.arrayContaining(steps));
      }
      for (const step of steps) {
        expect(rotationOf(env, data.databaseSecret).DependsOn ?? []).not.toContain(step);
      }
    }
  });

  it('keeps the secrets of a retained environment when the stack is deleted', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const secrets = Object.values(
        template(env).findResources('AWS::SecretsManager::Secret') as Resources,
      );
      expect(secrets).toHaveLength(3);
      for (const secret of secrets) {
        expect(secret.DeletionPolicy).toBe(configs[env].retainOnDelete ? 'Retain' : 'Delete');
      }
    }
  });

  it('lets only RDS Proxy and the rotation functions (one security group) reach the instance port', () => {
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

  it('runs the bootstrap, then the migrations, at deploy time from triggers after the proxy', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const { data } = synthesized.stages[env];
      const triggers = template(env).findResources('Custom::Trigger') as Resources;
      expect(Object.keys(triggers).sort()).toEqual(
        [idOf(data.bootstrap.trigger), idOf(data.migrations.trigger)].sort(),
      );
      const steps = [
        [data.bootstrap, 'databaseBootstrap', /DatabaseBootstrapFunctionCurrentVersion/],
        [data.migrations, 'migrate', /MigrateFunctionCurrentVersion/],
      ] as const;
      for (const [step, name, handler] of steps) {
        const trigger = triggers[idOf(step.trigger)] as Resources[string];
        expect(trigger.Properties, name).toMatchObject({
          InvocationType: 'RequestResponse',
          ExecuteOnHandlerChange: true,
          Timeout: String((FUNCTION_SIZING[name].timeoutSeconds + 60) * 1000),
        });
        expect(JSON.stringify(trigger.Properties.HandlerArn)).toMatch(handler);
        expect(trigger.DependsOn).toEqual(
          expect.arrayContaining([idOf(data.proxy), idOf(data.database)]),
        );
        expect(functionProperties(env, step.fn), name).toMatchObject({
          Runtime: 'nodejs22.x',
          Architectures: ['arm64'],
          MemorySize: FUNCTION_SIZING[name].memoryMiB,
          Timeout: FUNCTION_SIZING[name].timeoutSeconds,
          VpcConfig: expect.anything(),
        });
        expect(functionProperties(env, step.fn).ReservedConcurrentExecutions).toBeUndefined();
      }
      // The migrations run as the migrator, whose login the bootstrap gives it.
      expect(triggers[idOf(data.migrations.trigger)]?.DependsOn).toContain(
        idOf(data.bootstrap.trigger),
      );
      expect(triggers[idOf(data.bootstrap.trigger)]?.DependsOn).not.toContain(
        idOf(data.migrations.trigger),
      );
    }
  });

  it('migrates as aic_migrator through the proxy with IAM, reading no secret', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const { data } = synthesized.stages[env];
      const variables = environmentOf(env, data.migrations.fn);
      expect(
        Object.keys(variables)
          .filter((key) => /^(DB|REDIS)_/.test(key))
          .sort(),
      ).toEqual(['DB_HOST', 'DB_IAM_AUTH', 'DB_NAME', 'DB_PORT', 'DB_USER']);
      expect(variables).toMatchObject({ DB_IAM_AUTH: 'true', DB_USER: 'aic_migrator' });
      expect(variables.DB_HOST).toEqual({ 'Fn::GetAtt': [idOf(data.proxy), 'Endpoint'] });
      const statements = roleStatements(env, data.migrations.fn);
      expect(connectUsers(statements)).toEqual(['aic_migrator']);
      expect(JSON.stringify(statements)).toContain(`${idOf(data.proxy)}","DBProxyArn"`);
      expect(JSON.stringify(statements)).not.toContain('secretsmanager:');
    }
  });

  it('bootstraps as aic_admin through the proxy with IAM, reading the two role secrets only', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const { data } = synthesized.stages[env];
      const variables = environmentOf(env, data.bootstrap.fn);
      expect(
        Object.keys(variables)
          .filter((key) => /^(DB|REDIS)_/.test(key))
          .sort(),
      ).toEqual([
        'DB_APP_SECRET_ARN',
        'DB_HOST',
        'DB_IAM_AUTH',
        'DB_MIGRATOR_SECRET_ARN',
        'DB_NAME',
        'DB_PORT',
        'DB_USER',
      ]);
      expect(variables).toMatchObject({
        DB_IAM_AUTH: 'true',
        DB_USER: 'aic_admin',
        DB_APP_SECRET_ARN: { Ref: idOf(data.appDatabaseSecret) },
        DB_MIGRATOR_SECRET_ARN: { Ref: idOf(data.migratorDatabaseSecret) },
      });
      const statements = roleStatements(env, data.bootstrap.fn);
      expect(connectUsers(statements)).toEqual(['aic_admin']);
      const reads = statements.filter((statement) =>
        [statement.Action].flat().some((action) => action.startsWith('secretsmanager:')),
      );
      expect(reads).toHaveLength(1);
      expect([reads[0]?.Action].flat().sort()).toEqual([
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
      ]);
      // Not the master's secret: the bootstrap authenticates with an IAM token.
      expect(reads[0]?.Resource).toEqual([
        { Ref: idOf(data.appDatabaseSecret) },
        { Ref: idOf(data.migratorDatabaseSecret) },
      ]);
    }
  });

  it('leaves the master secret to its rotation, the proxy and the instance, and the master login to the bootstrap', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const { data } = synthesized.stages[env];
      const attachment = idOf(data.databaseSecret);
      const secret = (template(env).findResources('AWS::SecretsManager::Secret', {
        Properties: { Name: `auralink-aic/${env}/database` },
      }) ?? {}) as Resources;
      const [secretId] = Object.keys(secret);
      expect(secretId).toBeDefined();
      const json = template(env).toJSON() as {
        Resources: Record<string, { Type: string }>;
        Outputs?: Record<string, unknown>;
      };
      const users = Object.entries(json.Resources)
        .filter(([id]) => id !== secretId)
        .filter(([, resource]) =>
          [secretId, attachment].some((id) => JSON.stringify(resource).includes(`"${id}"`)),
        )
        .map(([id, resource]) => `${resource.Type} ${id}`)
        .sort();
      expect(users).toEqual(
        [
          `AWS::SecretsManager::SecretTargetAttachment ${attachment}`,
          // The instance takes the password at creation (a dynamic reference), the proxy logs in
          // with the secret and reads it, the schedule rotates it and protects it from deletion.
          `AWS::RDS::DBInstance ${idOf(data.database)}`,
          `AWS::RDS::DBProxy ${idOf(data.proxy)}`,
          `AWS::IAM::Policy ${idOf(data.proxy.node.findChild('IAMRole').node.findChild('DefaultPolicy'))}`,
          `AWS::SecretsManager::RotationSchedule ${rotationScheduleId(env, data.databaseSecret)}`,
          `AWS::SecretsManager::ResourcePolicy ${idOf(data.databaseSecret.node.findChild('Policy'))}`,
        ].sort(),
      );
      // No other stack can reach it: the data stack exports nothing that names it.
      expect(JSON.stringify(json.Outputs ?? {})).not.toMatch(
        new RegExp(`${secretId}|${attachment}`),
      );
      // The one policy in any stack that may connect as the master is the bootstrap's.
      const masterLogins = Object.entries(synthesized.templates[env]).flatMap(
        ([stack, stackTemplate]) =>
          Object.entries(stackTemplate.findResources('AWS::IAM::Policy') as Resources)
            .filter(([, policy]) => JSON.stringify(policy.Properties).includes('/aic_admin"'))
            .map(([id]) => `${stack}/${id}`),
      );
      const bootstrapPolicy = data.bootstrap.fn.function.role?.node.findChild('DefaultPolicy');
      expect(masterLogins).toEqual([`data/${idOf(bootstrapPolicy as IConstruct)}`]);
    }
  });
});

describe('the data stack: Redis', () => {
  it('encrypts in transit (required) and at rest, with no AUTH token and no Redis secret', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const group = only(env, 'AWS::ElastiCache::ReplicationGroup').Properties;
      expect(group).toMatchObject({
        ReplicationGroupId: `auralink-aic-${env}`,
        Engine: 'redis',
        EngineVersion: '7.1',
        TransitEncryptionEnabled: true,
        TransitEncryptionMode: 'required',
        AtRestEncryptionEnabled: true,
        Port: configs[env].cache.port,
        CacheNodeType: `cache.${configs[env].cache.nodeType}`,
      });
      expect(group.AuthToken).toBeUndefined();
      expect(configs[env].cache.port).not.toBe(6379);
      // The three database secrets, and nothing for Redis.
      const secrets = template(env).findResources('AWS::SecretsManager::Secret') as Resources;
      for (const secret of Object.values(secrets)) {
        expect(secret.Properties.Name).toMatch(new RegExp(`^auralink-aic/${env}/database`));
      }
    }
  });

  it('lets the services in as an IAM-authenticated user with the access string, and no one else', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const { cache } = synthesized.stages[env].data;
      const users = template(env).findResources('AWS::ElastiCache::User') as Resources;
      expect(Object.keys(users).sort()).toEqual(
        [idOf(cache.serviceUser), idOf(cache.defaultUser)].sort(),
      );
      // IAM authentication requires the user name to be the user ID.
      expect(users[idOf(cache.serviceUser)]?.Properties).toEqual({
        Engine: 'redis',
        UserId: `aic-app-${env}`,
        UserName: `aic-app-${env}`,
        AccessString: REDIS_ACCESS_STRING,
        AuthenticationMode: { Type: 'iam' },
        Tags: expect.any(Array),
      });
      expect(cache.serviceUserId).toBe(`aic-app-${env}`);
      // Who a connection is before it authenticates: off, allowed nothing.
      expect(users[idOf(cache.defaultUser)]?.Properties).toEqual({
        Engine: 'redis',
        UserId: `aic-default-${env}`,
        UserName: 'default',
        AccessString: 'off -@all',
        AuthenticationMode: { Type: 'no-password-required' },
        Tags: expect.any(Array),
      });
    }
  });

  it('puts both users in a user group on the replication group', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const { cache } = synthesized.stages[env].data;
      expect(only(env, 'AWS::ElastiCache::UserGroup').Properties).toMatchObject({
        Engine: 'redis',
        UserGroupId: `aic-${env}`,
        UserIds: [{ Ref: idOf(cache.defaultUser) }, { Ref: idOf(cache.serviceUser) }],
      });
      expect(only(env, 'AWS::ElastiCache::ReplicationGroup').Properties.UserGroupIds).toEqual([
        { Ref: idOf(cache.userGroup) },
      ]);
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
