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
};

/** Resource patterns that end in a wildcard: the objects a writer names as it writes them. */
const PREFIX_RESOURCES = [/\/frames\/\*"/, /\/errors\/\*"/, /":\*"/];

/** CDK's own custom-resource providers may use the basic Lambda execution policy. */
const MANAGED_POLICY = /service-role\/AWSLambdaBasicExecutionRole/;

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
    const policies = template.findResources('AWS::IAM::Policy') as Resources;
    for (const [id, policy] of Object.entries(policies)) {
      const document = policy.Properties.PolicyDocument as { Statement: Statement[] };
      for (const statement of document.Statement) out.push({ where: `${key}/${id}`, statement });
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
    for (const policy of Object.values(template.findResources('AWS::IAM::Policy') as Resources)) {
      const document = policy.Properties.PolicyDocument as { Statement: Statement[] };
      for (const role of (policy.Properties.Roles ?? []) as { Ref?: string }[]) {
        if (role.Ref) add(`${stack}/${role.Ref}`, document.Statement);
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

    it(`attaches no managed policy but the basic Lambda one to CDK's own providers (${env})`, () => {
      for (const key of STACK_KEYS) {
        const roles = synthesized.templates[env][key].findResources('AWS::IAM::Role') as Resources;
        for (const [id, role] of Object.entries(roles)) {
          for (const arn of (role.Properties.ManagedPolicyArns ?? []) as unknown[]) {
            expect(JSON.stringify(arn), `${key}/${id}`).toMatch(MANAGED_POLICY);
            expect(id, `${key}/${id}`).toMatch(/CustomResourceProvider/);
          }
        }
      }
    });
  }
});
