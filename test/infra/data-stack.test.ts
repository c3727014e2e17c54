import { CfnResource } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { REDIS_ACCESS_STRING } from '../../functions/core/contracts/redis-access.ts';
import { DEPLOY_FUNCTION_CONCURRENCY } from '../../lib/config/deploy-functions.ts';
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
  Condition?: unknown;
}

/** The inline and customer-managed policies of the data stack, by logical id. */
function policies(env: EnvironmentName): Resources {
  return {
    ...(template(env).findResources('AWS::IAM::Policy') as Resources),
    ...(template(env).findResources('AWS::IAM::ManagedPolicy') as Resources),
  };
}

/** The statements of the policies (inline or customer-managed) attached to a role. */
function statementsOfRole(env: EnvironmentName, role: IConstruct): Statement[] {
  const id = idOf(role);
  return Object.values(policies(env))
    .filter((policy) => JSON.stringify(policy.Properties.Roles).includes(`"${id}"`))
    .flatMap(
      (policy) => (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement,
    );
}

/** The statements of the policies of a function's role. */
function roleStatements(env: EnvironmentName, fn: AicFunction): Statement[] {
  return statementsOfRole(env, fn.function.role as IConstruct);
}

/** A construct the data stack creates as its direct child. */
const dataChild = (env: EnvironmentName, id: string) =>
  synthesized.stages[env].data.node.findChild(id);

/** `{ "Fn::GetAtt": [<logical id of construct>, "Arn"] }`. */
const arnOf = (construct: IConstruct) => ({ 'Fn::GetAtt': [idOf(construct), 'Arn'] });

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
        EnableCloudwatchLogsExports: ['postgresql', 'upgrade'],
        CACertificateIdentifier: 'rds-ca-rsa2048-g1',
        // The instance's snapshots in the hour of the AWS Backup rule, apart from maintenance.
        PreferredBackupWindow: '01:00-02:00',
        PreferredMaintenanceWindow: 'sun:03:00-sun:04:00',
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
        expect(functionProperties(env, step.fn).ReservedConcurrentExecutions).toBe(
          DEPLOY_FUNCTION_CONCURRENCY,
        );
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
          `AWS::IAM::ManagedPolicy ${idOf(dataChild(env, 'ProxyRole').node.findChild('Policy'))}`,
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
          ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy'].flatMap((type) =>
            Object.entries(stackTemplate.findResources(type) as Resources)
              .filter(([, policy]) => JSON.stringify(policy.Properties).includes('/aic_admin"'))
              .map(([id]) => `${stack}/${id}`),
          ),
      );
      const bootstrapRole = data.bootstrap.fn.function.role as IConstruct;
      const bootstrapPolicy =
        bootstrapRole.node.tryFindChild('Policy') ?? bootstrapRole.node.findChild('DefaultPolicy');
      expect(masterLogins).toEqual([`data/${idOf(bootstrapPolicy)}`]);
    }
  });
});

describe('the data stack: credentials encryption', () => {
  it('encrypts the three credentials secrets with a rotated key of the data stack, kept with them', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const key = dataChild(env, 'CredentialsKey');
      const secrets = Object.values(
        template(env).findResources('AWS::SecretsManager::Secret') as Resources,
      );
      expect(secrets).toHaveLength(3);
      for (const secret of secrets) expect(secret.Properties.KmsKeyId).toEqual(arnOf(key));
      const keyResource = (template(env).findResources('AWS::KMS::Key') as Resources)[idOf(key)];
      expect(keyResource?.Properties.EnableKeyRotation).toBe(true);
      expect(keyResource?.DeletionPolicy).toBe(configs[env].retainOnDelete ? 'Retain' : 'Delete');
    }
  });

  it('lets the proxy, the rotations and the bootstrap decrypt the secrets, and no other stack name the key', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const { data } = synthesized.stages[env];
      const key = dataChild(env, 'CredentialsKey');
      const proxyRole = dataChild(env, 'ProxyRole');
      // The proxy's own grant, in its managed policy.
      expect(statementsOfRole(env, proxyRole)).toContainEqual(
        expect.objectContaining({ Action: 'kms:Decrypt', Resource: arnOf(key) }),
      );
      // Each rotation application grants its function the key it is given.
      for (const secret of [
        data.databaseSecret,
        data.appDatabaseSecret,
        data.migratorDatabaseSecret,
      ]) {
        expect(rotationOf(env, secret).Properties.Parameters).toMatchObject({
          kmsKeyArn: arnOf(key),
        });
      }
      // The readers of the role secrets decrypt through Secrets Manager only (the key policy).
      const keyPolicy = (template(env).findResources('AWS::KMS::Key') as Resources)[idOf(key)]
        ?.Properties.KeyPolicy as { Statement: (Statement & { Principal: unknown })[] };
      const viaSecretsManager = keyPolicy.Statement.find(
        (statement) =>
          statement.Action === 'kms:Decrypt' &&
          JSON.stringify(statement.Condition).includes('kms:ViaService'),
      );
      expect(JSON.stringify(viaSecretsManager?.Principal)).toContain(
        idOf(data.bootstrap.fn.function.role as IConstruct),
      );
      // No other stack references the key: reading a secret stays inside the data stack.
      const outputs = JSON.stringify(template(env).toJSON().Outputs ?? {});
      expect(outputs).not.toContain(idOf(key));
    }
  });

  it('gives RDS Proxy a role whose permissions are a managed policy of its own: the three secrets and their key', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const proxyRole = dataChild(env, 'ProxyRole');
      expect(only(env, 'AWS::RDS::DBProxy').Properties.RoleArn).toEqual(arnOf(proxyRole));
      const role = (template(env).findResources('AWS::IAM::Role') as Resources)[idOf(proxyRole)];
      expect(role?.Properties.Policies).toBeUndefined();
      expect(JSON.stringify(role?.Properties.AssumeRolePolicyDocument)).toContain(
        'rds.amazonaws.com',
      );
      const inline = template(env).findResources('AWS::IAM::Policy') as Resources;
      for (const policy of Object.values(inline)) {
        expect(JSON.stringify(policy.Properties.Roles)).not.toContain(idOf(proxyRole));
      }
      const actions = statementsOfRole(env, proxyRole).flatMap(({ Action }) => [Action].flat());
      expect(actions.sort()).toEqual([
        'kms:Decrypt',
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
      ]);
    }
  });
});

describe('the data stack: backups, logs and monitoring', () => {
  /** The one rule of the database's backup plan. */
  const backupRule = (env: EnvironmentName) =>
    (
      only(env, 'AWS::Backup::BackupPlan').Properties.BackupPlan as {
        BackupPlanRule: Record<string, unknown>[];
      }
    ).BackupPlanRule;

  it('backs the instance up daily with continuous backups (point-in-time recovery) for backupRetentionDays', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const { data } = synthesized.stages[env];
      const days = configs[env].database.backupRetentionDays;
      const rules = backupRule(env);
      expect(rules).toHaveLength(1);
      expect(rules[0]).toMatchObject({
        ScheduleExpression: 'cron(0 1 * * ? *)',
        StartWindowMinutes: 60,
        EnableContinuousBackup: true,
        Lifecycle: { DeleteAfterDays: days },
        TargetBackupVault: { 'Fn::GetAtt': [idOf(data.databaseBackup.vault), 'BackupVaultName'] },
      });
      // AWS Backup manages the instance's automated backups: the same retention, and the rule
      // starts in the instance's backup window.
      expect(only(env, 'AWS::RDS::DBInstance').Properties.BackupRetentionPeriod).toBe(days);
      expect(days).toBeGreaterThan(1);
      expect(days).toBeLessThanOrEqual(35);
      const selection = only(env, 'AWS::Backup::BackupSelection').Properties.BackupSelection as {
        Resources: unknown[];
        IamRoleArn: unknown;
      };
      expect(selection.Resources).toHaveLength(1);
      expect(JSON.stringify(selection.Resources[0])).toContain(`{"Ref":"${idOf(data.database)}"}`);
      expect(JSON.stringify(selection.IamRoleArn)).toMatch(/DatabaseBackupPlanDatabaseRole/);
    }
  });

  it('keeps the recovery points in a vault encrypted with a rotated key of its own, retained in prod', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const { vault, vaultKey } = synthesized.stages[env].data.databaseBackup;
      const retained = configs[env].retainOnDelete ? 'Retain' : 'Delete';
      const vaultResource = only(env, 'AWS::Backup::BackupVault');
      expect(vaultResource.Properties).toMatchObject({
        BackupVaultName: `auralink-aic-${env}-database`,
        EncryptionKeyArn: arnOf(vaultKey),
      });
      expect(vaultResource.DeletionPolicy).toBe(retained);
      expect(idOf(vault)).toBeDefined();
      const key = (template(env).findResources('AWS::KMS::Key') as Resources)[idOf(vaultKey)];
      expect(key?.Properties.EnableKeyRotation).toBe(true);
      expect(key?.DeletionPolicy).toBe(retained);
    }
  });

  it("copies each day's backup to the configured vault in another Region in prod, and nowhere else", () => {
    const copy = configs.prod.database.backupCopy;
    expect(copy?.vaultArn).toMatch(/^arn:aws:backup:[a-z0-9-]+:\d{12}:backup-vault:/);
    expect(backupRule('prod')[0]?.CopyActions).toEqual([
      {
        DestinationBackupVaultArn: copy?.vaultArn,
        Lifecycle: { DeleteAfterDays: copy?.retentionDays },
      },
    ]);
    for (const env of ['dev', 'staging'] as const) {
      expect(configs[env].database.backupCopy).toBeUndefined();
      expect(backupRule(env)[0]?.CopyActions ?? []).toEqual([]);
    }
  });

  it('exports the PostgreSQL and upgrade logs to log groups it creates first, encrypted, with the retention', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const logsKey = arnOf(dataChild(env, 'LogsKey'));
      const instance = only(env, 'AWS::RDS::DBInstance');
      for (const [log, id] of [
        ['postgresql', 'PostgresLog'],
        ['upgrade', 'PostgresUpgradeLog'],
      ] as const) {
        const logGroup = dataChild(env, id);
        const resource = (template(env).findResources('AWS::Logs::LogGroup') as Resources)[
          idOf(logGroup)
        ];
        expect(resource?.Properties).toMatchObject({
          LogGroupName: `/aws/rds/instance/auralink-aic-${env}/${log}`,
          RetentionInDays: configs[env].logRetentionDays,
          KmsKeyId: logsKey,
        });
        // RDS would otherwise create the group itself, unencrypted and kept forever.
        expect(instance.DependsOn).toContain(idOf(logGroup));
      }
    }
  });

  it('samples the operating system every 60 s with a role only RDS monitoring this instance may assume', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const monitoringRole = dataChild(env, 'MonitoringRole');
      const instance = only(env, 'AWS::RDS::DBInstance');
      expect(instance.Properties).toMatchObject({
        MonitoringInterval: 60,
        MonitoringRoleArn: arnOf(monitoringRole),
      });
      const role = (template(env).findResources('AWS::IAM::Role') as Resources)[
        idOf(monitoringRole)
      ];
      // No AWS managed policy: the role's own, scoped to this account's RDSOSMetrics group.
      expect(role?.Properties.ManagedPolicyArns).toBeUndefined();
      const trust = JSON.stringify(role?.Properties.AssumeRolePolicyDocument);
      expect(trust).toContain('monitoring.rds.amazonaws.com');
      expect(trust).toContain('aws:SourceAccount');
      expect(trust).toContain(`:db:auralink-aic-${env}`);
      const statements = statementsOfRole(env, monitoringRole);
      expect(statements).toHaveLength(1);
      for (const resource of [statements[0]?.Resource].flat()) {
        expect(JSON.stringify(resource)).toMatch(/:log-group:RDSOSMetrics(:\*)?"\]\]\}$/);
      }
      // The policy is attached before RDS turns monitoring on.
      expect(instance.DependsOn).toContain(idOf(monitoringRole.node.findChild('Policy')));
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

  it('keeps daily snapshots for at least 15 days in every environment, in a window apart from maintenance', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const { snapshotRetentionDays } = configs[env].cache;
      expect(snapshotRetentionDays).toBeGreaterThanOrEqual(15);
      expect(only(env, 'AWS::ElastiCache::ReplicationGroup').Properties).toMatchObject({
        SnapshotRetentionLimit: snapshotRetentionDays,
        SnapshotWindow: '02:00-03:00',
        PreferredMaintenanceWindow: 'sun:04:00-sun:05:00',
      });
    }
  });

  it("keeps the slow log in a log group encrypted with the stack's log key", () => {
    for (const env of ENVIRONMENT_NAMES) {
      template(env).hasResourceProperties('AWS::Logs::LogGroup', {
        LogGroupName: `/auralink/aic/${env}/redis-slow-log`,
        RetentionInDays: configs[env].logRetentionDays,
        KmsKeyId: arnOf(dataChild(env, 'LogsKey')),
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
