import { Stack, type StackProps } from 'aws-cdk-lib';
import { StringParameter } from 'aws-cdk-lib/aws-ssm';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/environment-config.ts';
import { ApiWebAcl } from '../constructs/edge/api-web-acl.ts';

/** The only region where CloudFront accepts a web ACL (scope CLOUDFRONT). */
export const EDGE_REGION = 'us-east-1';

/** The SSM parameter, in {@link EDGE_REGION}, that holds the web ACL's ARN for the API stack. */
export function webAclArnParameterName(config: EnvironmentConfig): string {
  return `/auralink-aic/${config.name}/edge/web-acl-arn`;
}

/** Properties of {@link EdgeStack}. */
export interface EdgeStackProps extends Omit<StackProps, 'env'> {
  /** The environment it is deployed to. */
  readonly config: EnvironmentConfig;
}

/**
 * The web ACL of the HTTP API's CloudFront distribution. CloudFront takes web ACLs from us-east-1
 * only, so this stack is pinned to that region (the account still comes from the credentials);
 * the rest of the stage stays environment-agnostic. CloudFormation cannot reference across
 * regions, so the ARN is published in an SSM parameter the API stack reads at deploy time
 * (docs/design.md section 6).
 */
export class EdgeStack extends Stack {
  /** The web ACL and its logs. */
  readonly webAcl: ApiWebAcl;
  /** The parameter holding the web ACL's ARN. */
  readonly webAclArnParameter: StringParameter;

  constructor(scope: Construct, id: string, props: EdgeStackProps) {
    super(scope, id, { ...props, env: { region: EDGE_REGION } });
    const { config } = props;
    this.webAcl = new ApiWebAcl(this, 'ApiWebAcl', { config });
    this.webAclArnParameter = new StringParameter(this, 'WebAclArnParameter', {
      parameterName: webAclArnParameterName(config),
      description: `ARN of the AuraLink AIC API web ACL (${config.name}), read by the API stack`,
      stringValue: this.webAcl.webAcl.attrArn,
    });
  }
}
