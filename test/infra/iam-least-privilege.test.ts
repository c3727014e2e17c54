import type { CfnResource } from 'aws-cdk-lib';
import type { IRole } from 'aws-cdk-lib/aws-iam';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AicFunction } from '../../lib/constructs/aic-function.ts';
import {
  logicalId,
  type Resources,
  STACK_KEYS,
  type StackKey,
  type SynthesizedApp,
  synthAicApp,
} from './app-fixture.ts';

/**
 * Every IAM statement of every stage is the least its code uses: no wildcard action anywhere, and
 * a wildcard resource only where AWS offers no narrower one. The lists below are the whole of the
 * exceptions, each with its reason; a new statement that needs one must be added here on purpose.
 * The IAM-authenticated connections are checked per role: which database user each role may
 * connect as, and which roles may connect to Redis, as which user.
 */

/** Actions that take no resource-level permission (the IAM service authorization reference). */
const RESOURCE_STAR_ACTIONS: Readonly<Record<string, string>> = {
  'xray:PutTraceSegments': 'X-Ray has no resource-level permissions',
  'xray:PutTelemetryRecords': 'X-Ray has no resource-level permissions',
  'ec2:DescribeNetworkInterfaces': 'Describe actions take no resource',
  'ec2:DescribeSubnets': 'Describe actions take no resource',
  // A function in a VPC: Lambda creates and removes its interfaces in subnets it picks at run time.
  'ec2:CreateNetworkInterface': 'the Lambda VPC access the service requires',
  'ec2:DeleteNetworkInterface': 'the Lambda VPC access the service requires',
  'ec2:AssignPrivateIpAddresses': 'the Lambda VPC access the service requires',
  'ec2:UnassignPrivateIpAddresses': 'the Lambda VPC access the service requires',
  'ecr:GetAuthorizationToken': 'a registry login token is account-wide',
  // The secret-rotation age publisher; a condition limits it to the SecretsManager namespace.
  'cloudwatch:PutMetricData': 'CloudWatch metrics take no resource-level permissions',
};

/** Resource patterns that end in a wildcard: the objects a writer names as it writes them. */
const PREFIX_RESOURCES = [
  /\/frames\/\*"/,
  /\/errors\/\*"/,
  /":\*"/,
  // The streams of the log group RDS Enhanced Monitoring names itself (one per instance).
  /:log-group:RDSOSMetrics:\*"/,
];

/** The AWS managed policies a role may carry, each only on the roles it is made for. */
const AWS_MANAGED_POLICIES: readonly { policy: RegExp; role: RegExp }[] = [
  // CDK's own custom-resource providers.
  { policy: /service-role\/AWSLambdaBasicExecutionRole"/, role: /CustomResourceProvider/ },
  // AWS Backup's service role, which AWS keeps in step with the services it backs up.
  { policy: /service-role\/AWSBackupServiceRolePolicyForBackup"/, role: /BackupPlan.*Role/ },
];

/**
 * The policy resources whose statements are read: the customer-managed policies of the roles
 * (ManagedPolicyRole) and any inline policy a construct still creates.
 */
const POLICY_TYPES = ['AWS::IAM::ManagedPolicy', 'AWS::IAM::Policy'] as const;

/** The stacks whose roles keep their grants in managed policies only. */
const MANAGED_POLICY_STACKS: readonly StackKey[] = ['network', 'edge', 'metrics', 'api', 'grpc'];

/**
 * CDK's own custom-resource providers (e.g. the one that strips the default security group's
 * rules): rendered as plain CloudFormation with an inline policy CDK writes and no way to give
 * them a managed one.
 */
const CDK_PROVIDER_ROLE = /CustomResourceProvider/;

interface Statement {
  Action: string | string[];
  Resource?: unknown;
}

type Env = 'dev' | 'staging' | 'prod';

let synthesized: SynthesizedApp;

beforeAll(() => {
  synthesized = synthAicApp();
});

/** Every statement of every policy of a stage, with where it is. */
function statementsOf(env: Env): { where: string; statement: Statement }[] {
  const out: { where: string; statement: Statement }[] = [];
  for (const key of STACK_KEYS) {
    const template = synthesized.templates[env][key];
    for (const type of POLICY_TYPES) {
      const policies = template.findResources(type) as Resources;
      for (const [id, policy] of Object.entries(policies)) {
        const document = policy.Properties.PolicyDocument as { Statement: Statement[] };
        for (const statement of document.Statement) out.push({ where: `${key}/${id}`, statement });
      }
    }
    const roles = template.findResources('AWS::IAM::Role') as Resources;
    for (const [id, role] of Object.entries(roles)) {
      const inline = (role.Properties.Policies ?? []) as {
        PolicyDocument: { Statement: Statement[] };
      }[];
      for (const policy of inline) {
        for (const statement of policy.PolicyDocument.Statement) {
          out.push({ where: `${key}/${id}`, statement });
        }
      }
    }
  }
  return out;
}

const resourceText = (resource: unknown) => JSON.stringify(resource);

/** Every statement of the policies attached to each role of a stage, keyed `<stack>/<role id>`. */
function statementsByRole(env: Env): Map<string, Statement[]> {
  const out = new Map<string, Statement[]>();
  const add = (key: string, statements: Statement[]) =>
    out.set(key, [...(out.get(key) ?? []), ...statements]);
  for (const stack of STACK_KEYS) {
    const template = synthesized.templates[env][stack];
    for (const [id, role] of Object.entries(
      template.findResources('AWS::IAM::Role') as Resources,
    )) {
      add(`${stack}/${id}`, []);
      for (const policy of (role.Properties.Policies ?? []) as {
        PolicyDocument: { Statement: Statement[] };
      }[]) {
        add(`${stack}/${id}`, policy.PolicyDocument.Statement);
      }
    }
    for (const type of POLICY_TYPES) {
      for (const policy of Object.values(template.findResources(type) as Resources)) {
        const document = policy.Properties.PolicyDocument as { Statement: Statement[] };
        for (const role of (policy.Properties.Roles ?? []) as { Ref?: string }[]) {
          if (role.Ref) add(`${stack}/${role.Ref}`, document.Statement);
        }
      }
    }
  }
  return out;
}

/** `<stack>/<role id>` of a role of a stage. */
const roleKey = (stack: StackKey, role: IRole | undefined) =>
  `${stack}/${logicalId((role as IRole).node.defaultChild as CfnResource)}`;

/** The roles of a stage's service functions and task, which use Postgres as the app role. */
function serviceRoles(env: Env): { redis: string[]; postgresOnly: string[] } {
  const { api, grpc, metrics } = synthesized.stages[env];
  const fnRole = (stack: StackKey, fn: AicFunction) => roleKey(stack, fn.function.role);
  return {
    redis: [
      ...Object.values(api.functions).map((fn) => fnRole('api', fn)),
      roleKey('grpc', grpc.taskDefinition.taskRole),
    ],
    postgresOnly: [
      ...Object.values(api.scheduled).map(({ fn }) => fnRole('api', fn)),
      fnRole('metrics', metrics.consumer.fn),
    ],
  };
}

/** The database users a role's `rds-db:connect` statements name (`...:dbuser:<proxy>/<user>`). */
const connectUsers = (statements: readonly Statement[]) =>
  statements
    .filter((statement) => [statement.Action].flat().includes('rds-db:connect'))
    .flatMap((statement) => [statement.Resource].flat())
    .map((resource) => /\/(\w+)"\]\]\}$/.exec(resourceText(resource))?.[1] ?? '?');

describe('IAM in every stage', () => {
  for (const env of ['dev', 'staging', 'prod'] as const) {
    it(`grants no wildcard action and a wildcard resource only where AWS has no narrower one (${env})`, () => {
      const statements = statementsOf(env);
      expect(statements.length).toBeGreaterThan(20);
      let starred = 0;
      for (const { where, statement } of statements) {
        const actions = [statement.Action].flat();
        for (const action of actions) expect(action, where).not.toContain('*');
        for (const resource of [statement.Resource].flat()) {
          const text = resourceText(resource);
          if (resource === '*') {
            starred += 1;
            for (const action of actions) {
              expect(RESOURCE_STAR_ACTIONS[action], `${where}: ${action} on *`).toBeDefined();
            }
          } else if (text.includes('*"')) {
            expect(
              PREFIX_RESOURCES.some((pattern) => pattern.test(text)),
              `${where}: ${text}`,
            ).toBe(true);
          }
        }
      }
      // The exceptions above are used (the Lambdas' VPC and X-Ray statements): the scan reads them.
      expect(starred).toBeGreaterThan(0);
      // So are the IAM-authenticated connections to Postgres and Redis.
      const actions = statements.flatMap(({ statement }) => [statement.Action].flat());
      expect(actions).toContain('rds-db:connect');
      expect(actions).toContain('elasticache:Connect');
    });

    it(`connects to the database as one user per role: the services as aic_app, the migrations as aic_migrator, the bootstrap alone as aic_admin (${env})`, () => {
      const byRole = statementsByRole(env);
      const { data } = synthesized.stages[env];
      const { redis, postgresOnly } = serviceRoles(env);
      const expected = new Map<string, string[]>([
        ...[...redis, ...postgresOnly].map((role): [string, string[]] => [role, ['aic_app']]),
        [roleKey('data', data.migrations.fn.function.role), ['aic_migrator']],
        [roleKey('data', data.bootstrap.fn.function.role), ['aic_admin']],
      ]);
      for (const role of expected.keys()) expect(byRole.has(role), role).toBe(true);
      for (const [role, statements] of byRole) {
        expect(connectUsers(statements), role).toEqual(expected.get(role) ?? []);
      }
    });

    it(`lets the Redis users, and no other role, connect to exactly the replication group and the service user (${env})`, () => {
      const byRole = statementsByRole(env);
      const { redis } = serviceRoles(env);
      const arn = (resource: string, name: string) => ({
        'Fn::Join': [
          '',
          [
            'arn:',
            { Ref: 'AWS::Partition' },
            ':elasticache:',
            { Ref: 'AWS::Region' },
            ':',
            { Ref: 'AWS::AccountId' },
            `:${resource}:${name}`,
          ],
        ],
      });
      for (const [role, statements] of byRole) {
        const connect = statements.filter((statement) =>
          [statement.Action].flat().some((action) => action.startsWith('elasticache:')),
        );
        if (!redis.includes(role)) {
          expect(connect, role).toEqual([]);
          continue;
        }
        expect(connect, role).toEqual([
          {
            Action: 'elasticache:Connect',
            Effect: 'Allow',
            Resource: [
              arn('replicationgroup', `auralink-aic-${env}`),
              arn('user', `aic-app-${env}`),
            ],
          },
        ]);
        // Redis needs no secret: a role that connects to it reads none.
        const reads = statements.flatMap((statement) => [statement.Action].flat());
        expect(
          reads.filter((action) => action.startsWith('secretsmanager:')),
          role,
        ).toEqual([]);
      }
    });

    it(`gives no role of the network, edge, metrics, API and gRPC stacks an inline policy (${env})`, () => {
      let managed = 0;
      for (const key of MANAGED_POLICY_STACKS) {
        const template = synthesized.templates[env][key];
        expect(Object.keys(template.findResources('AWS::IAM::Policy')), key).toEqual([]);
        const roles = template.findResources('AWS::IAM::Role') as Resources;
        for (const [id, role] of Object.entries(roles)) {
          if (CDK_PROVIDER_ROLE.test(id)) continue;
          expect(role.Properties.Policies, `${key}/${id}`).toBeUndefined();
        }
        // Every other role has its grants in a managed policy of its own, attached to it alone.
        const policies = Object.values(
          template.findResources('AWS::IAM::ManagedPolicy') as Resources,
        );
        for (const policy of policies) {
          expect(policy.Properties.Roles, `${key}: ${JSON.stringify(policy.Properties)}`).toEqual([
            { Ref: expect.any(String) },
          ]);
        }
        const attached = new Set(
          policies.map((policy) => (policy.Properties.Roles as { Ref: string }[])[0]?.Ref),
        );
        for (const id of Object.keys(roles)) {
          if (!CDK_PROVIDER_ROLE.test(id)) expect(attached.has(id), `${key}/${id}`).toBe(true);
        }
        managed += policies.length;
      }
      expect(managed).toBeGreaterThan(10);
    });

    it(`attaches no AWS managed policy but the basic Lambda one to CDK's own providers and AWS Backup's to its role (${env})`, () => {
      for (const key of STACK_KEYS) {
        const roles = synthesized.templates[env][key].findResources('AWS::IAM::Role') as Resources;
        for (const [id, role] of Object.entries(roles)) {
          for (const arn of (role.Properties.ManagedPolicyArns ?? []) as unknown[]) {
            const text = JSON.stringify(arn);
            const allowed = AWS_MANAGED_POLICIES.find(({ policy }) => policy.test(text));
            expect(allowed, `${key}/${id}: ${text}`).toBeDefined();
            expect(id, `${key}/${id}`).toMatch(allowed?.role ?? /^$/);
          }
        }
      }
    });
  }
});
