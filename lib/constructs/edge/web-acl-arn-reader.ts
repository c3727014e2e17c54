import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import { AwsCustomResource, PhysicalResourceId } from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import type { EnvironmentConfig } from '../../config/environment-config.ts';
import { logEncryptionKey } from '../security/log-encryption-key.ts';
import { ManagedPolicyRole } from '../security/managed-policy-role.ts';

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
 * ARN across updates of its rules. The reading function has its own (encrypted) log group and a
 * role whose one managed policy may write only there and read only that parameter.
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
      encryptionKey: logEncryptionKey(this, config),
      removalPolicy: config.retainOnDelete ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    // An explicit role: the default one would carry AWSLambdaBasicExecutionRole (every log group).
    // The SSM read is granted here too, so AwsCustomResource needs no `policy`, which it would
    // turn into an inline policy of its own.
    const role = new ManagedPolicyRole(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `AuraLink AIC web ACL ARN reader (${config.name})`,
    });
    logGroup.grantWrite(role);
    role.addToPolicy(
      new PolicyStatement({
        actions: ['ssm:GetParameter'],
        resources: [
          Stack.of(this).formatArn({
            service: 'ssm',
            region,
            resource: 'parameter',
            resourceName: parameterName.replace(/^\//, ''),
          }),
        ],
      }),
    );
    const reader = new AwsCustomResource(this, 'Read', {
      onUpdate: {
        service: 'SSM',
        action: 'getParameter',
        parameters: { Name: parameterName },
        region,
        physicalResourceId: PhysicalResourceId.of(parameterName),
      },
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

/** Why the provider needs no dead-letter queue. */
const PROVIDER_DLQ_REASON =
  'CloudFormation invokes this provider during the deployment and waits for its answer, ' +
  'failing (and rolling back) the deployment without one; a queued copy could answer nobody.';

/** The findings of the provider function AwsCustomResource shares across the stack. */
function acknowledgeProviderFindings(scope: Construct): void {
  const provider = Stack.of(scope).node.tryFindChild(
    `AWS${AwsCustomResource.PROVIDER_FUNCTION_UUID.replace(/-/g, '')}`,
  );
  if (!provider) throw new Error('AwsCustomResource created no provider function');
  Validations.of(provider).acknowledge(
    { id: 'Serverless-LambdaDLQ', reason: PROVIDER_DLQ_REASON },
    { id: 'NIST.800.53.R5-LambdaDLQ', reason: PROVIDER_DLQ_REASON },
    {
      id: 'Serverless-LambdaTracing',
      reason:
        'One SSM read per deployment, logged to its own log group; a trace would show that one ' +
        'call and nothing the log does not.',
    },
    {
      id: 'NIST.800.53.R5-LambdaConcurrency',
      reason:
        'CDK creates and configures this provider for its custom resources; it runs only while ' +
        'CloudFormation deploys the stack, once per changed resource, so a reservation would ' +
        'hold account capacity for a function idle between deployments.',
    },
    {
      id: 'NIST.800.53.R5-LambdaInsideVPC',
      reason:
        "This CDK provider reads one SSM parameter in the edge region through SSM's public API " +
        'during deployments and reaches nothing in the VPC; attached to it, it would need a NAT ' +
        'gateway to reach that region, which an environment with natGateways 0 does not have.',
    },
  );
}
