import { Names, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type { CfnPolicy, CfnRole } from 'aws-cdk-lib/aws-iam';
import type { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import type { CfnLogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { SecretsManagerMetricsPublisher } from 'cdk-monitoring-constructs';
import type { Construct, IConstruct } from 'constructs';
import type { EnvironmentConfig } from '../../config/environment-config.ts';
import { logEncryptionKey } from '../security/log-encryption-key.ts';

/** Why the publisher's invocations need no dead-letter queue. */
const NO_DLQ_REASON =
  'An hourly schedule invokes the publisher to read each secret’s last rotation date and publish ' +
  'its age; a failed run is superseded by the next one, and the rotation alarm sees missing data ' +
  'as missing, so a queued copy of the event would hold nothing to replay.';

/**
 * Makes the next secret monitoring of `facade` create its own publisher. The library keeps one
 * publisher per facade path for the whole process, so a second app built in the same process (the
 * tests build several) would otherwise add its secrets to the first app's publisher.
 */
export function releaseStalePublisher(facade: Construct): void {
  const registry = (
    SecretsManagerMetricsPublisher as unknown as { instances: Record<string, Construct> }
  ).instances;
  const key = Names.nodeUniqueId(facade.node);
  if (registry[key] && registry[key].node.scope !== facade) delete registry[key];
}

/**
 * Hardens the Lambda function cdk-monitoring-constructs creates to publish each secret's days
 * since its last rotation (`SecretsManagerMetricsPublisher`, one per facade): its log group is
 * encrypted with the stack's log key and kept as long as the environment's logs, its concurrency
 * is reserved for the secrets it serves, and its role may describe only those secrets, publish only
 * to its namespace and write only its own log group, instead of the library's grants on every
 * secret and every log group. What cannot be changed on a construct the library owns is
 * acknowledged with its reason.
 */
export function hardenSecretsMetricsPublisher(
  facade: Construct,
  config: EnvironmentConfig,
  secrets: readonly ISecret[],
): void {
  const publisher = facade.node.tryFindChild('SecretsManagerMetricsPublisher');
  if (!publisher) return;
  const logGroup = child(publisher, 'LambdaLogs/Resource') as CfnLogGroup;
  logGroup.kmsKeyId = logEncryptionKey(facade, config).keyArn;
  logGroup.retentionInDays = config.logRetentionDays as RetentionDays;
  logGroup.applyRemovalPolicy(config.retainOnDelete ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY);
  const fn = child(publisher, 'Lambda/Resource') as CfnFunction;
  // One hourly invocation per secret, all at minute 0.
  fn.reservedConcurrentExecutions = secrets.length;
  restrictRole(publisher, logGroup, secrets);
  Validations.of(fn).acknowledge(
    { id: 'Serverless-LambdaDLQ', reason: NO_DLQ_REASON },
    { id: 'NIST.800.53.R5-LambdaDLQ', reason: NO_DLQ_REASON },
    {
      id: 'NIST.800.53.R5-LambdaInsideVPC',
      reason:
        'The publisher calls only the Secrets Manager and CloudWatch APIs (DescribeSecret, ' +
        'PutMetricData) and reaches no resource inside the VPC; it reads no secret value.',
    },
    {
      id: 'Serverless-LambdaTracing',
      reason:
        'A library-owned function that makes two AWS API calls an hour; its role has no X-Ray ' +
        'permission to add, and a trace of it would show nothing its log does not.',
    },
  );
  acknowledgeRole(child(publisher, 'Lambda/ServiceRole'));
  for (const rule of publisher.node.children.filter((c) => c.node.id.startsWith('RuleFor'))) {
    Validations.of(rule).acknowledge({
      id: 'Serverless-EventBusDLQ',
      reason: NO_DLQ_REASON,
    });
  }
}

/**
 * Replaces the publisher role's permissions: DescribeSecret on the watched secrets only (by name,
 * any suffix), PutMetricData in the `SecretsManager` namespace, and writes to its own log group in
 * place of AWSLambdaBasicExecutionRole.
 */
function restrictRole(publisher: IConstruct, logGroup: CfnLogGroup, secrets: readonly ISecret[]) {
  const role = child(publisher, 'Lambda/ServiceRole/Resource') as CfnRole;
  role.managedPolicyArns = undefined;
  const policy = child(publisher, 'Lambda/ServiceRole/DefaultPolicy/Resource') as CfnPolicy;
  policy.policyDocument = {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: 'secretsmanager:DescribeSecret',
        Resource: secrets.map((secret) => `${secret.secretArn}-??????`),
      },
      {
        Effect: 'Allow',
        Action: 'cloudwatch:PutMetricData',
        Resource: '*',
        Condition: { StringEquals: { 'cloudwatch:namespace': 'SecretsManager' } },
      },
      {
        Effect: 'Allow',
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Resource: `${logGroup.attrArn}`,
      },
    ],
  };
}

/** The findings of the role the library gives the publisher, with their reasons. */
function acknowledgeRole(role: IConstruct): void {
  Validations.of(role).acknowledge(
    {
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'cloudwatch:PutMetricData takes no resource-level permission; a condition limits it to ' +
        'the SecretsManager namespace the publisher writes.',
    },
    {
      id: 'NIST.800.53.R5-IAMNoInlinePolicy',
      reason:
        'The inline policy belongs to the publisher function cdk-monitoring-constructs creates; ' +
        'its document is replaced here with the three permissions the function uses.',
    },
  );
}

/** A descendant of `scope` by its path below it. */
function child(scope: IConstruct, path: string): IConstruct {
  let current = scope;
  for (const id of path.split('/')) current = current.node.findChild(id);
  return current;
}
