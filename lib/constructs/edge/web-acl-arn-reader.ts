import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import {
  AwsCustomResource,
  AwsCustomResourcePolicy,
  PhysicalResourceId,
} from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../../config/environment-config.ts';

/** Properties of {@link WebAclArnReader}. */
export interface WebAclArnReaderProps {
  /** The environment it is deployed to. */
  readonly config: EnvironmentConfig;
  /** The SSM parameter that holds the ARN. */
  readonly parameterName: string;
  /** The region of the parameter (the web ACL's). */
  readonly region: string;
}

/**
 * The ARN of a web ACL in another region, read from its SSM parameter at deploy time: stacks of an
 * environment-agnostic stage cannot use CDK's cross-region references, which need both regions
 * known at synthesis. The read repeats when the parameter's name changes; the web ACL keeps its
 * ARN across updates of its rules. The reading function has its own log group and a role that
 * may write only there and read only that parameter.
 */
export class WebAclArnReader extends Construct {
  /** The web ACL's ARN (a deploy-time value). */
  readonly webAclArn: string;

  constructor(scope: Construct, id: string, props: WebAclArnReaderProps) {
    super(scope, id);
    const { config, parameterName, region } = props;
    const logGroup = new LogGroup(this, 'LogGroup', {
      logGroupName: `/auralink/aic/${config.name}/lambda/web-acl-arn-reader`,
      retention: config.logRetentionDays,
      removalPolicy: config.retainOnDelete ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    // An explicit role: the default one would carry AWSLambdaBasicExecutionRole (every log group).
    const role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `AuraLink AIC web ACL ARN reader (${config.name})`,
    });
    logGroup.grantWrite(role);
    const reader = new AwsCustomResource(this, 'Read', {
      onUpdate: {
        service: 'SSM',
        action: 'getParameter',
        parameters: { Name: parameterName },
        region,
        physicalResourceId: PhysicalResourceId.of(parameterName),
      },
      policy: AwsCustomResourcePolicy.fromSdkCalls({
        resources: [
          Stack.of(this).formatArn({
            service: 'ssm',
            region,
            resource: 'parameter',
            resourceName: parameterName.replace(/^\//, ''),
          }),
        ],
      }),
      role,
      logGroup,
      memorySize: 256,
      timeout: Duration.minutes(1),
      // The runtime's SDK has SSM; fetching the latest from npm at deploy time would need internet
      // access and make the deployment depend on the registry.
      installLatestAwsSdk: false,
    });
    this.webAclArn = reader.getResponseField('Parameter.Value');
    acknowledgeProviderFindings(this);
  }
}

/** The findings of the provider function AwsCustomResource shares across the stack. */
function acknowledgeProviderFindings(scope: Construct): void {
  const provider = Stack.of(scope).node.tryFindChild(
    `AWS${AwsCustomResource.PROVIDER_FUNCTION_UUID.replace(/-/g, '')}`,
  );
  if (!provider) throw new Error('AwsCustomResource created no provider function');
  Validations.of(provider).acknowledge(
    {
      id: 'Serverless-LambdaDLQ',
      reason:
        'CloudFormation invokes this provider during the deployment and waits for its answer, ' +
        'failing (and rolling back) the deployment without one; a queued copy could answer nobody.',
    },
    {
      id: 'Serverless-LambdaTracing',
      reason:
        'One SSM read per deployment, logged to its own log group; a trace would show that one ' +
        'call and nothing the log does not.',
    },
  );
}
