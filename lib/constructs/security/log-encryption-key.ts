import { ArnFormat, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { type IKey, Key } from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../../config/environment-config.ts';

/** The construct ID of the key, a direct child of its stack. */
const KEY_ID = 'LogsKey';

/**
 * The customer-managed key (rotated yearly) that encrypts every log group of `scope`'s stack:
 * created by the first caller, shared by the rest. One key per stack rather than one per
 * environment, because a key referenced across stacks would tie their lifecycles together and the
 * edge stack lives in another region. CloudWatch Logs may use it only for this account's log
 * groups in this region.
 */
export function logEncryptionKey(scope: Construct, config: EnvironmentConfig): IKey {
  const stack = Stack.of(scope);
  const existing = stack.node.tryFindChild(KEY_ID);
  if (existing) return existing as Key;
  const key = new Key(stack, KEY_ID, {
    description: `AuraLink AIC log groups of ${stack.stackName} (${config.name})`,
    enableKeyRotation: true,
    // Retained with the logs it decrypts: deleting the key would make them unreadable.
    removalPolicy: config.retainOnDelete ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
  });
  key.addToResourcePolicy(
    new PolicyStatement({
      principals: [new ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
      actions: [
        'kms:Encrypt*',
        'kms:Decrypt*',
        'kms:ReEncrypt*',
        'kms:GenerateDataKey*',
        'kms:Describe*',
      ],
      resources: ['*'],
      conditions: {
        ArnLike: {
          'kms:EncryptionContext:aws:logs:arn': stack.formatArn({
            service: 'logs',
            resource: 'log-group',
            resourceName: '*',
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        },
      },
    }),
  );
  return key;
}
