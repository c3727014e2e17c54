import { type CfnResource, type Stack, Validations } from 'aws-cdk-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEV_JWT_SECRET } from '../../functions/platform/jwt.ts';
import {
  ENVIRONMENT_NAMES,
  type EnvironmentConfig,
  type EnvironmentName,
  loadEnvironmentConfigs,
} from '../../lib/config/environment-config.ts';
import {
  logicalId,
  type Resources,
  STACK_KEYS,
  type SynthesizedApp,
  synthAicApp,
} from './app-fixture.ts';

let synthesized: SynthesizedApp;
let configs: Record<EnvironmentName, EnvironmentConfig>;

beforeAll(() => {
  synthesized = synthAicApp();
  configs = loadEnvironmentConfigs(synthesized.app);
});

/** Every Lambda and container environment variable of a stage: `[where, name, value]`. */
function environmentVariables(env: EnvironmentName): [string, string, unknown][] {
  const variables: [string, string, unknown][] = [];
  for (const key of STACK_KEYS) {
    const template = synthesized.templates[env][key];
    const functions = template.findResources('AWS::Lambda::Function') as Resources;
    for (const [id, fn] of Object.entries(functions)) {
      const environment = fn.Properties.Environment as
        | { Variables: Record<string, unknown> }
        | undefined;
      for (const [name, value] of Object.entries(environment?.Variables ?? {})) {
        variables.push([`${key}/${id}`, name, value]);
      }
    }
    const tasks = template.findResources('AWS::ECS::TaskDefinition') as Resources;
    for (const [id, task] of Object.entries(tasks)) {
      const containers = task.Properties.ContainerDefinitions as {
        Environment?: { Name: string; Value: unknown }[];
      }[];
      for (const container of containers) {
        for (const { Name, Value } of container.Environment ?? []) {
          variables.push([`${key}/${id}`, Name, Value]);
        }
      }
    }
  }
  return variables;
}

describe('every stage', () => {
  it('passes no secret value in any Lambda or task environment variable', () => {
    const testSigningKey = process.env.AIC_JWT_SECRET;
    for (const env of ENVIRONMENT_NAMES) {
      const variables = environmentVariables(env);
      expect(variables.length).toBeGreaterThan(40);
      for (const [where, name, value] of variables) {
        const text = JSON.stringify(value);
        const label = `${env} ${where} ${name}`;
        // A dynamic reference would put the resolved secret into the function's configuration.
        expect(text, label).not.toMatch(/resolve:secretsmanager|resolve:ssm-secure/);
        expect(text, label).not.toContain(DEV_JWT_SECRET);
        if (testSigningKey) expect(text, label).not.toContain(testSigningKey);
        expect(name, label).not.toMatch(/PASSWORD|(SECRET|TOKEN|KEY)$/);
        if (/SECRET/.test(name)) {
          // A reference to a secret's ARN (same stack or imported), never a literal.
          expect(name, label).toMatch(/_SECRET_ARN$/);
          expect(typeof value, label).toBe('object');
        }
      }
    }
  });

  it('holds no literal secret: every secret is generated, resolved only by RDS and CloudFront', () => {
    for (const env of ENVIRONMENT_NAMES) {
      for (const key of STACK_KEYS) {
        const template = synthesized.templates[env][key];
        const secrets = template.findResources('AWS::SecretsManager::Secret') as Resources;
        for (const secret of Object.values(secrets)) {
          expect(secret.Properties.SecretString).toBeUndefined();
          expect(secret.Properties.GenerateSecretString).toBeDefined();
        }
        const resources = template.toJSON().Resources as Record<
          string,
          { Type: string; Properties?: unknown }
        >;
        for (const resource of Object.values(resources)) {
          const text = JSON.stringify(resource.Properties ?? {});
          if (!text.includes('{{resolve:secretsmanager:')) continue;
          // CloudFront sends the origin secret to the API in a header (docs/design.md section 6).
          // Redis has no secret: its one enabled user authenticates with IAM.
          expect(['AWS::RDS::DBInstance', 'AWS::CloudFront::Distribution']).toContain(
            resource.Type,
          );
        }
      }
    }
  });

  it('gives every restricted security group an inline egress rule (no implicit allow-all)', () => {
    for (const env of ENVIRONMENT_NAMES) {
      for (const key of STACK_KEYS) {
        const groups = synthesized.templates[env][key].findResources(
          'AWS::EC2::SecurityGroup',
        ) as Resources;
        for (const [id, group] of Object.entries(groups)) {
          // CloudFormation adds an allow-all egress rule to a group created without inline ones.
          const egress = group.Properties.SecurityGroupEgress as { CidrIp?: string }[] | undefined;
          expect(egress, `${env}/${key}/${id}`).toBeDefined();
          if (egress?.some((rule) => rule.CidrIp === '0.0.0.0/0')) {
            // Only the rotation function (Secrets Manager's application) and the gRPC tasks'
            // HTTPS to AWS APIs leave the VPC's CIDR.
            expect(id).toMatch(/RotationSingleUserSecurityGroup|TaskSecurityGroup/);
          }
        }
      }
    }
  });

  it('sets the configured retention on every log group of every stack', () => {
    for (const env of ENVIRONMENT_NAMES) {
      for (const key of STACK_KEYS) {
        const groups = synthesized.templates[env][key].findResources(
          'AWS::Logs::LogGroup',
        ) as Resources;
        for (const group of Object.values(groups)) {
          expect(group.Properties.RetentionInDays).toBe(configs[env].logRetentionDays);
        }
      }
    }
  });

  it('deploys the stacks in lifecycle order: network, data and edge, then metrics, then API and gRPC, then observability', () => {
    const { network, data, edge, metrics, api, grpc, observability } = synthesized.stages.dev;
    const dependencies = (stack: Stack) =>
      stack.dependencies.map((dependency) => dependency.node.id).sort();
    expect(dependencies(network)).toEqual([]);
    expect(dependencies(edge)).toEqual([]);
    expect(dependencies(data)).toEqual(['Network']);
    expect(dependencies(metrics)).toEqual(['Data', 'Network']);
    expect(dependencies(api)).toEqual(['Data', 'Edge', 'Metrics', 'Network']);
    expect(dependencies(grpc)).toEqual(['Data', 'Metrics', 'Network']);
    expect(dependencies(observability)).toEqual(['Api', 'Data', 'Grpc', 'Metrics']);
    expect(data.terminationProtection).toBe(false);
    expect(synthesized.stages.prod.data.terminationProtection).toBe(true);
  });

  it('acknowledges cdk-nag findings with a reason, relaxing data durability outside prod only', () => {
    const acknowledgements = (env: EnvironmentName) => {
      const found = new Map<string, string[]>();
      for (const construct of synthesized.stages[env].node.findAll()) {
        for (const entry of construct.node.metadata) {
          if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
          for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
            expect(reason.length, id).toBeGreaterThan(40);
            const rule = id.replace(/^annotation::/i, '');
            // CDK acknowledges some CloudFormation validation rules of its own constructs.
            if (!/^(AwsSolutions|Serverless)-/.test(rule)) continue;
            const path = construct.node.path.split('/').slice(1).join('/');
            found.set(rule, [...(found.get(rule) ?? []), path].sort());
          }
        }
      }
      return found;
    };
    const dev = acknowledgements('dev');
    const prod = acknowledgements('prod');
    // Outside the API stack (tested there): one acknowledgement per resource it concerns.
    const outsideApi = (found: Map<string, string[]>) => {
      const result: Record<string, string[]> = {};
      for (const [rule, paths] of found) {
        const kept = paths.filter((path) => !path.startsWith('Api/'));
        if (kept.length > 0) result[rule] = kept;
      }
      return result;
    };
    const consumer = 'Metrics/MetricsConsumerFunction/Function';
    const archive = logicalId(
      synthesized.stages.dev.metrics.archive.bucket.node.defaultChild as CfnResource,
    );
    const deployFunctions = [
      'Data/DatabaseBootstrapFunction/Function',
      'Data/MigrateFunction/Function',
    ];
    const publisher = 'Observability/Monitoring/Facade/SecretsManagerMetricsPublisher';
    // The library names its schedules after each secret: one rule per watched secret.
    const publisherRules = (env: EnvironmentName) =>
      synthesized.stages[env].observability.monitoring.facade.node
        .findChild('SecretsManagerMetricsPublisher')
        .node.children.filter((child) => child.node.id.startsWith('RuleFor'))
        .map((rule) => `${publisher}/${rule.node.id}`)
        .sort();
    const common = (env: EnvironmentName) => ({
      'AwsSolutions-L1': [...deployFunctions, consumer],
      'Serverless-LambdaLatestVersion': [...deployFunctions, consumer],
      'Serverless-LambdaDLQ': [...deployFunctions, consumer, `${publisher}/Lambda/Resource`],
      'Serverless-LambdaTracing': [`${publisher}/Lambda/Resource`],
      'Serverless-EventBusDLQ': publisherRules(env),
      'AwsSolutions-IAM5[Resource::*]': [
        'Data/DatabaseBootstrapFunction/Role/Policy',
        'Data/MigrateFunction/Role/Policy',
        'Grpc/TaskExecutionRole/Policy',
        'Metrics/MetricsConsumerFunction/Role/Policy',
        `${publisher}/Lambda/ServiceRole`,
      ],
      'AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:RDSOSMetrics:*]':
        ['Data/MonitoringRole'],
      'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]':
        ['Data/DatabaseBackupPlan/Database'],
      // Redis authenticates with RBAC and IAM, which ElastiCache allows only without AUTH.
      'AwsSolutions-AEC6': ['Data/Redis'],
      'AwsSolutions-ECS2': ['Grpc/Task'],
      'AwsSolutions-EC23': ['Grpc/LoadBalancerSecurityGroup'],
      'AwsSolutions-S1': ['Grpc/LoadBalancerAccessLogs', 'Metrics/FrameArchiveAccessLogs'],
      'Serverless-SQSRedrivePolicy': ['Metrics/FailedBatchesDeadLetters'],
      'AwsSolutions-KDF1': ['Metrics/FrameArchiveDelivery'],
      [`AwsSolutions-IAM5[Resource::<${archive}.Arn>/frames/*]`]: [
        'Metrics/FrameArchiveDeliveryRole/Policy',
      ],
      [`AwsSolutions-IAM5[Resource::<${archive}.Arn>/errors/*]`]: [
        'Metrics/FrameArchiveDeliveryRole/Policy',
      ],
    });
    expect(outsideApi(prod)).toEqual({
      ...common('prod'),
      'Serverless-SNSRedrivePolicy': [`Observability/AlarmTopic/${configs.prod.alarmEmail}`],
    });
    expect(outsideApi(dev)).toEqual({
      ...common('dev'),
      'Serverless-SNSRedrivePolicy': [`Observability/AlarmTopic/${configs.dev.alarmEmail}`],
      'AwsSolutions-RDS3': ['Data/Database'],
      'AwsSolutions-RDS10': ['Data/Database'],
      'AwsSolutions-AEC4': ['Data/Redis'],
    });
  });

  it('acknowledges on prod only these NIST 800-53 rev. 5 findings, each with its reason', () => {
    const found: Record<string, string[]> = {};
    for (const construct of synthesized.stages.prod.node.findAll()) {
      for (const entry of construct.node.metadata) {
        if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
        for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
          const rule = /NIST\.800\.53\.R5-(\w+)/.exec(id)?.[1];
          if (!rule) continue;
          expect(reason.length, id).toBeGreaterThan(40);
          // Security group rules are named after their peer's logical ID.
          const path = construct.node.path
            .split('/')
            .slice(1)
            .join('/')
            .replace(/\/from .*/, '');
          found[rule] = [...(found[rule] ?? []), path].sort();
        }
      }
    }
    const provider = 'Api/AWS679f53fac002430cb0da5b7982bd2287';
    const publisher = 'Observability/Monitoring/Facade/SecretsManagerMetricsPublisher';
    const databaseIngress = ['Data/DatabaseSecurityGroup', 'Data/DatabaseSecurityGroup'];
    expect(found).toEqual({
      // The database port is a deploy-time token the rules cannot read.
      EC2RestrictedCommonPorts: databaseIngress,
      EC2RestrictedSSH: databaseIngress,
      IAMNoInlinePolicy: [`${publisher}/Lambda/ServiceRole`],
      LambdaConcurrency: [provider],
      // Functions invoked synchronously (API Gateway, CloudFormation, the stream's mapping).
      LambdaDLQ: [
        provider,
        'Api/CompressFunction/Function',
        'Api/DashboardFunction/Function',
        'Api/HealthFunction/Function',
        'Api/NetworkFunction/Function',
        'Api/OriginAuthorizerFunction/Function',
        'Data/DatabaseBootstrapFunction/Function',
        'Data/MigrateFunction/Function',
        'Metrics/MetricsConsumerFunction/Function',
        `${publisher}/Lambda/Resource`,
      ].sort(),
      LambdaInsideVPC: [
        provider,
        'Api/OriginAuthorizerFunction/Function',
        `${publisher}/Lambda/Resource`,
      ].sort(),
      S3BucketLoggingEnabled: ['Grpc/LoadBalancerAccessLogs'],
      S3BucketReplicationEnabled: [
        'Grpc/LoadBalancerAccessLogs',
        'Metrics/FrameArchive',
        'Metrics/FrameArchiveAccessLogs',
      ],
      S3DefaultEncryptionKMS: ['Metrics/FrameArchiveAccessLogs'],
      SecretsManagerRotationEnabled: ['Api/Edge/OriginSecret'],
      VPCNoUnrestrictedRouteToIGW: [
        'Network/Vpc/publicSubnet1/DefaultRoute',
        'Network/Vpc/publicSubnet2/DefaultRoute',
      ],
    });
  });
});
