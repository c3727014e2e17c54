import { beforeAll, describe, expect, it } from 'vitest';
import { type Resources, STACK_KEYS, type SynthesizedApp, synthAicApp } from './app-fixture.ts';

/**
 * Every IAM statement of every stage is the least its code uses: no wildcard action anywhere, and
 * a wildcard resource only where AWS offers no narrower one. The lists below are the whole of the
 * exceptions, each with its reason; a new statement that needs one must be added here on purpose.
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

let synthesized: SynthesizedApp;

beforeAll(() => {
  synthesized = synthAicApp();
});

/** Every statement of every policy of a stage, with where it is. */
function statementsOf(env: 'dev' | 'staging' | 'prod'): { where: string; statement: Statement }[] {
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
