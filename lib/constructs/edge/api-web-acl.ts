import { ArnFormat, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { CfnLoggingConfiguration, CfnWebACL } from 'aws-cdk-lib/aws-wafv2';
import { Construct } from 'constructs';
import { routeList, routes } from '../../../functions/core/contracts/routes.ts';
import type { EnvironmentConfig } from '../../config/environment-config.ts';
import { logEncryptionKey } from '../security/log-encryption-key.ts';

/**
 * The body size AWS WAF inspects for CloudFront by default. A body longer than this is only partly
 * seen by the managed rules' body checks.
 */
export const CLOUDFRONT_BODY_INSPECTION_BYTES = 16 * 1024;

/** The path whose bodies are frames (up to the compress route's own cap): no WAF size rule. */
export const LARGE_BODY_PATH = routes.compress.path;

/** The AWS managed rule groups of the web ACL, in evaluation order, by rule name. */
export const MANAGED_RULE_GROUPS = {
  AmazonIpReputationList: 'AWSManagedRulesAmazonIpReputationList',
  KnownBadInputs: 'AWSManagedRulesKnownBadInputsRuleSet',
  CommonRuleSet: 'AWSManagedRulesCommonRuleSet',
} as const;

/** The Core rule set's rule that blocks any body over 8 KB, counted instead (see the size rule). */
export const CRS_BODY_SIZE_RULE = 'SizeRestrictions_BODY';

/** Properties of {@link ApiWebAcl}. */
export interface ApiWebAclProps {
  /** The environment it is deployed to. */
  readonly config: EnvironmentConfig;
}

const visibility = (metricName: string): CfnWebACL.VisibilityConfigProperty => ({
  cloudWatchMetricsEnabled: true,
  metricName,
  sampledRequestsEnabled: true,
});

const exactPath = (path: string): CfnWebACL.StatementProperty => ({
  byteMatchStatement: {
    fieldToMatch: { uriPath: {} },
    positionalConstraint: 'EXACTLY',
    searchString: path,
    textTransformations: [{ priority: 0, type: 'NONE' }],
  },
});

/**
 * The web ACL in front of the HTTP API (scope CLOUDFRONT, so its stack is in us-east-1): per
 * client IP rate limits (all routes; lower on the routes without a token), the Amazon IP
 * reputation list, known bad inputs and the Core rule set, and a body size rule in place of the
 * Core rule set's, so frames reach the compress route (docs/design.md section 6). Blocked and
 * counted requests are logged, the `authorization` header redacted.
 */
export class ApiWebAcl extends Construct {
  /** The web ACL. */
  readonly webAcl: CfnWebACL;
  /** Where its blocked and counted requests are logged. */
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: ApiWebAclProps) {
    super(scope, id);
    const { config } = props;
    const name = `auralink-aic-${config.name}-api`;
    this.webAcl = new CfnWebACL(this, 'WebAcl', {
      name,
      description: `AuraLink AIC HTTP API edge protection, ${config.name}`,
      scope: 'CLOUDFRONT',
      defaultAction: { allow: {} },
      visibilityConfig: visibility(name),
      rules: webAclRules(config),
    });
    this.logGroup = new LogGroup(this, 'Logs', {
      // WAF delivers only to log groups whose name starts with `aws-waf-logs-`.
      logGroupName: `aws-waf-logs-${name}`,
      retention: config.logRetentionDays,
      // WAF delivers through CloudWatch Logs, which encrypts with the key itself.
      encryptionKey: logEncryptionKey(this, config),
      removalPolicy: config.retainOnDelete ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    new CfnLoggingConfiguration(this, 'Logging', {
      resourceArn: this.webAcl.attrArn,
      // WAF wants the log group's ARN without the `:*` CloudFormation's Arn attribute ends with.
      logDestinationConfigs: [
        Stack.of(this).formatArn({
          service: 'logs',
          resource: 'log-group',
          resourceName: this.logGroup.logGroupName,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ],
      redactedFields: [{ singleHeader: { Name: 'authorization' } }],
      loggingFilter: {
        DefaultBehavior: 'DROP',
        Filters: ['BLOCK', 'COUNT'].map((action) => ({
          Behavior: 'KEEP',
          Requirement: 'MEETS_ANY',
          Conditions: [{ ActionCondition: { Action: action } }],
        })),
      },
    });
  }
}

/** The rules, cheapest and most decisive first. */
function webAclRules(config: EnvironmentConfig): CfnWebACL.RuleProperty[] {
  const managed = (
    ruleName: keyof typeof MANAGED_RULE_GROUPS,
    excluded: readonly string[] = [],
  ): Omit<CfnWebACL.RuleProperty, 'priority'> => ({
    name: ruleName,
    overrideAction: { none: {} },
    statement: {
      managedRuleGroupStatement: {
        vendorName: 'AWS',
        name: MANAGED_RULE_GROUPS[ruleName],
        ...(excluded.length > 0
          ? {
              ruleActionOverrides: excluded.map((rule) => ({
                name: rule,
                actionToUse: { count: {} },
              })),
            }
          : {}),
      },
    },
    visibilityConfig: visibility(ruleName),
  });
  const rules: Omit<CfnWebACL.RuleProperty, 'priority'>[] = [
    managed('AmazonIpReputationList'),
    rateRule('RatePerIp', config.waf.requestsPerIp, config),
    rateRule('PublicRatePerIp', config.waf.publicRequestsPerIp, config, publicPathsStatement()),
    managed('KnownBadInputs'),
    managed('CommonRuleSet', [CRS_BODY_SIZE_RULE]),
    bodySizeRule(),
  ];
  return rules.map((rule, priority) => ({ ...rule, priority }));
}

/** Blocks an IP over `limit` requests per window (429, `Retry-After`) until it slows down. */
function rateRule(
  name: string,
  limit: number,
  config: EnvironmentConfig,
  scopeDownStatement?: CfnWebACL.StatementProperty,
): Omit<CfnWebACL.RuleProperty, 'priority'> {
  return {
    name,
    action: {
      block: {
        customResponse: {
          responseCode: 429,
          responseHeaders: [{ name: 'retry-after', value: String(config.waf.windowSeconds) }],
        },
      },
    },
    statement: {
      rateBasedStatement: {
        aggregateKeyType: 'IP',
        limit,
        evaluationWindowSec: config.waf.windowSeconds,
        ...(scopeDownStatement ? { scopeDownStatement } : {}),
      },
    },
    visibilityConfig: visibility(name),
  };
}

/** The paths of the routes without a token, from the route table. */
export function publicPaths(): string[] {
  const paths = [...new Set(routeList.filter((route) => !route.auth).map((route) => route.path))];
  const templated = paths.filter((path) => path.includes('{'));
  if (templated.length > 0) {
    throw new Error(
      `Public routes with path parameters need a WAF pattern: ${templated.join(', ')}`,
    );
  }
  return paths;
}

function publicPathsStatement(): CfnWebACL.StatementProperty {
  const statements = publicPaths().map(exactPath);
  return statements.length === 1
    ? (statements[0] as CfnWebACL.StatementProperty)
    : { orStatement: { statements } };
}

/**
 * The Core rule set refuses any body over 8 KB, which would refuse every frame. In its place: a
 * body longer than WAF inspects for CloudFront (16 KB; longer JSON bodies would pass the body
 * rules half-read) is blocked on every path but the compress route's. Frames are authenticated,
 * capped by the function (docs/design.md section 2.3) and decoded only as images; the other body
 * rules still read their first 16 KB.
 */
function bodySizeRule(): Omit<CfnWebACL.RuleProperty, 'priority'> {
  return {
    name: 'BodySizeOutsideCompress',
    action: { block: {} },
    statement: {
      andStatement: {
        statements: [
          {
            sizeConstraintStatement: {
              fieldToMatch: { body: { oversizeHandling: 'MATCH' } },
              comparisonOperator: 'GT',
              size: CLOUDFRONT_BODY_INSPECTION_BYTES,
              textTransformations: [{ priority: 0, type: 'NONE' }],
            },
          },
          { notStatement: { statement: exactPath(LARGE_BODY_PATH) } },
        ],
      },
    },
    visibilityConfig: visibility('BodySizeOutsideCompress'),
  };
}
