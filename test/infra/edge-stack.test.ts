import { type CfnResource, Token } from 'aws-cdk-lib';
import { beforeAll, describe, expect, it } from 'vitest';
import { routeList, routes } from '../../functions/core/contracts/routes.ts';
import {
  ENVIRONMENT_NAMES,
  type EnvironmentConfig,
  type EnvironmentName,
  loadEnvironmentConfigs,
} from '../../lib/config/environment-config.ts';
import {
  CLOUDFRONT_BODY_INSPECTION_BYTES,
  CRS_BODY_SIZE_RULE,
  MANAGED_RULE_GROUPS,
  publicPaths,
} from '../../lib/constructs/edge/api-web-acl.ts';
import { EDGE_REGION, webAclArnParameterName } from '../../lib/stacks/edge-stack.ts';
import { logicalId, type Resources, type SynthesizedApp, synthAicApp } from './app-fixture.ts';

let synthesized: SynthesizedApp;
let configs: Record<EnvironmentName, EnvironmentConfig>;

beforeAll(() => {
  synthesized = synthAicApp();
  configs = loadEnvironmentConfigs(synthesized.app);
});

interface Rule {
  Name: string;
  Priority: number;
  Action?: Record<string, unknown>;
  OverrideAction?: Record<string, unknown>;
  Statement: Record<string, Record<string, unknown>>;
  VisibilityConfig: Record<string, unknown>;
}

function webAcl(env: EnvironmentName): { id: string; properties: Record<string, unknown> } {
  const acls = synthesized.templates[env].edge.findResources('AWS::WAFv2::WebACL') as Resources;
  expect(Object.keys(acls)).toHaveLength(1);
  const [id, acl] = Object.entries(acls)[0] as [string, Resources[string]];
  return { id, properties: acl.Properties };
}

function rules(env: EnvironmentName): Map<string, Rule> {
  const list = webAcl(env).properties.Rules as Rule[];
  return new Map(list.map((rule) => [rule.Name, rule]));
}

const exactPath = (path: string) => ({
  ByteMatchStatement: {
    FieldToMatch: { UriPath: {} },
    PositionalConstraint: 'EXACTLY',
    SearchString: path,
    TextTransformations: [{ Priority: 0, Type: 'NONE' }],
  },
});

describe('the edge stack', () => {
  it('is pinned to us-east-1, the only region CloudFront takes a web ACL from, account-agnostic', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const { edge, api } = synthesized.stages[env];
      expect(edge.region).toBe(EDGE_REGION);
      expect(Token.isUnresolved(edge.account)).toBe(true);
      expect(Token.isUnresolved(api.region)).toBe(true);
      expect(edge.stackName).toBe(`auralink-aic-${env}-edge`);
    }
  });

  it('synthesizes without looking anything up in an account', () => {
    // A lookup (VPC, hosted zone, a region's AZs) would leave its context key missing.
    expect(synthesized.app.synth().manifest.missing ?? []).toEqual([]);
    for (const env of ENVIRONMENT_NAMES) {
      expect(synthesized.stages[env].synth().manifest.missing ?? [], env).toEqual([]);
    }
  });

  it('builds a CloudFront-scope web ACL that allows what no rule blocks, with metrics and samples', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const { properties } = webAcl(env);
      expect(properties).toMatchObject({
        Name: `auralink-aic-${env}-api`,
        Scope: 'CLOUDFRONT',
        DefaultAction: { Allow: {} },
        VisibilityConfig: { CloudWatchMetricsEnabled: true, SampledRequestsEnabled: true },
      });
      for (const rule of rules(env).values()) {
        expect(rule.VisibilityConfig, rule.Name).toEqual({
          CloudWatchMetricsEnabled: true,
          MetricName: rule.Name,
          SampledRequestsEnabled: true,
        });
      }
    }
  });

  it('evaluates the rules in a fixed order: reputation, rate limits, bad inputs, core rules, body size', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const list = webAcl(env).properties.Rules as Rule[];
      expect(list.map((rule) => [rule.Priority, rule.Name])).toEqual([
        [0, 'AmazonIpReputationList'],
        [1, 'RatePerIp'],
        [2, 'PublicRatePerIp'],
        [3, 'KnownBadInputs'],
        [4, 'CommonRuleSet'],
        [5, 'BodySizeOutsideCompress'],
      ]);
    }
  });

  it('limits each client IP to the configured rate per window, answering 429 with Retry-After', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const { waf } = configs[env];
      const rule = rules(env).get('RatePerIp');
      expect(rule?.Statement).toEqual({
        RateBasedStatement: {
          AggregateKeyType: 'IP',
          Limit: waf.requestsPerIp,
          EvaluationWindowSec: waf.windowSeconds,
        },
      });
      expect(rule?.Action).toEqual({
        Block: {
          CustomResponse: {
            ResponseCode: 429,
            ResponseHeaders: [{ Name: 'retry-after', Value: String(waf.windowSeconds) }],
          },
        },
      });
    }
    expect(configs.prod.waf.requestsPerIp).not.toBe(configs.dev.waf.requestsPerIp);
  });

  it('gives the routes without a token a lower per-IP limit, on exactly their paths', () => {
    const paths = routeList.filter((route) => !route.auth).map((route) => route.path);
    expect(publicPaths().sort()).toEqual([...new Set(paths)].sort());
    expect(publicPaths()).toContain(routes.readiness.path);
    for (const env of ENVIRONMENT_NAMES) {
      const { waf } = configs[env];
      const rule = rules(env).get('PublicRatePerIp');
      expect(waf.publicRequestsPerIp).toBeLessThan(waf.requestsPerIp);
      expect(rule?.Statement).toEqual({
        RateBasedStatement: {
          AggregateKeyType: 'IP',
          Limit: waf.publicRequestsPerIp,
          EvaluationWindowSec: waf.windowSeconds,
          ScopeDownStatement: { OrStatement: { Statements: publicPaths().map(exactPath) } },
        },
      });
      expect(rule?.Action).toMatchObject({ Block: { CustomResponse: { ResponseCode: 429 } } });
    }
  });

  it('applies the AWS managed rule groups, counting only the Core rule set body size rule', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const all = rules(env);
      for (const [name, group] of Object.entries(MANAGED_RULE_GROUPS)) {
        const rule = all.get(name);
        expect(rule?.OverrideAction, name).toEqual({ None: {} });
        expect(rule?.Statement.ManagedRuleGroupStatement).toMatchObject({
          VendorName: 'AWS',
          Name: group,
        });
      }
      expect(all.get('CommonRuleSet')?.Statement.ManagedRuleGroupStatement).toEqual({
        VendorName: 'AWS',
        Name: 'AWSManagedRulesCommonRuleSet',
        RuleActionOverrides: [{ Name: CRS_BODY_SIZE_RULE, ActionToUse: { Count: {} } }],
      });
      for (const name of ['AmazonIpReputationList', 'KnownBadInputs']) {
        expect(
          all.get(name)?.Statement.ManagedRuleGroupStatement?.RuleActionOverrides,
          name,
        ).toBeUndefined();
      }
    }
  });

  it('blocks bodies WAF cannot read whole, except on the compress route', () => {
    expect(CLOUDFRONT_BODY_INSPECTION_BYTES).toBe(16_384);
    // Frames are far larger than what WAF reads; every other body is far smaller.
    expect(routes.compress.request.body.maxBytes).toBeGreaterThan(CLOUDFRONT_BODY_INSPECTION_BYTES);
    for (const env of ENVIRONMENT_NAMES) {
      const rule = rules(env).get('BodySizeOutsideCompress');
      expect(rule?.Action).toEqual({ Block: {} });
      expect(rule?.Statement).toEqual({
        AndStatement: {
          Statements: [
            {
              SizeConstraintStatement: {
                FieldToMatch: { Body: { OversizeHandling: 'MATCH' } },
                ComparisonOperator: 'GT',
                Size: CLOUDFRONT_BODY_INSPECTION_BYTES,
                TextTransformations: [{ Priority: 0, Type: 'NONE' }],
              },
            },
            { NotStatement: { Statement: exactPath(routes.compress.path) } },
          ],
        },
      });
    }
  });

  it("logs blocked and counted requests to a WAF log group encrypted with the stack's log key, without the authorization header", () => {
    for (const env of ENVIRONMENT_NAMES) {
      const template = synthesized.templates[env].edge;
      const { edge } = synthesized.stages[env];
      const logGroupName = `aws-waf-logs-auralink-aic-${env}-api`;
      const logsKey = logicalId(edge.node.findChild('LogsKey').node.defaultChild as CfnResource);
      template.hasResourceProperties('AWS::Logs::LogGroup', {
        LogGroupName: logGroupName,
        RetentionInDays: configs[env].logRetentionDays,
        KmsKeyId: { 'Fn::GetAtt': [logsKey, 'Arn'] },
      });
      template.resourceCountIs('AWS::Logs::LogGroup', 1);
      // CloudWatch Logs in the edge region may use the key for this account's log groups.
      const keyPolicy = template.findResources('AWS::KMS::Key')[logsKey]?.Properties.KeyPolicy;
      expect(JSON.stringify(keyPolicy)).toContain(`"Service":"logs.${EDGE_REGION}.amazonaws.com"`);
      template.hasResourceProperties('AWS::WAFv2::LoggingConfiguration', {
        ResourceArn: { 'Fn::GetAtt': [webAcl(env).id, 'Arn'] },
        // The log group's ARN without the `:*` WAF refuses.
        LogDestinationConfigs: [
          {
            'Fn::Join': [
              '',
              [
                `arn:aws:logs:${EDGE_REGION}:`,
                { Ref: 'AWS::AccountId' },
                ':log-group:',
                { Ref: logicalId(edge.webAcl.logGroup.node.defaultChild as CfnResource) },
              ],
            ],
          },
        ],
        RedactedFields: [{ SingleHeader: { Name: 'authorization' } }],
        LoggingFilter: {
          DefaultBehavior: 'DROP',
          Filters: ['BLOCK', 'COUNT'].map((action) => ({
            Behavior: 'KEEP',
            Requirement: 'MEETS_ANY',
            Conditions: [{ ActionCondition: { Action: action } }],
          })),
        },
      });
    }
  });

  it('publishes the web ACL ARN in the SSM parameter the API stack reads', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const { edge } = synthesized.stages[env];
      synthesized.templates[env].edge.hasResourceProperties('AWS::SSM::Parameter', {
        Name: webAclArnParameterName(configs[env]),
        Type: 'String',
        Value: {
          'Fn::GetAtt': [logicalId(edge.webAcl.webAcl as CfnResource), 'Arn'],
        },
      });
    }
  });
});
