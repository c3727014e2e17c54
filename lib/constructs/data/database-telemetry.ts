import { ArnFormat, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { LogGroup } from 'aws-cdk-lib/aws-logs';
import type { Construct, IDependable } from 'constructs';
import type { EnvironmentConfig } from '../../config/environment-config.ts';
import { logEncryptionKey } from '../security/log-encryption-key.ts';
import { ManagedPolicyRole } from '../security/managed-policy-role.ts';

/** The PostgreSQL logs the instance exports to CloudWatch Logs, with their construct IDs. */
export const DATABASE_LOG_EXPORTS = {
  postgresql: 'PostgresLog',
  upgrade: 'PostgresUpgradeLog',
} as const;

/** How often Enhanced Monitoring samples the instance's operating system. */
export const MONITORING_INTERVAL = Duration.seconds(60);

/** The log group RDS writes the Enhanced Monitoring samples of every instance of the Region to. */
const MONITORING_LOG_GROUP = 'RDSOSMetrics';

/**
 * One log group per exported log, with the environment's retention and its stack's log key.
 * Created here rather than by RDS (which would create them unencrypted and kept forever): the
 * instance must depend on them, so RDS finds them when it first exports.
 */
export function databaseLogGroups(
  scope: Construct,
  config: EnvironmentConfig,
  instanceIdentifier: string,
): LogGroup[] {
  return Object.entries(DATABASE_LOG_EXPORTS).map(
    ([log, id]) =>
      new LogGroup(scope, id, {
        logGroupName: `/aws/rds/instance/${instanceIdentifier}/${log}`,
        retention: config.logRetentionDays,
        encryptionKey: logEncryptionKey(scope, config),
        removalPolicy: config.retainOnDelete ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
      }),
  );
}

/** The Enhanced Monitoring role, and the policy the instance must wait for. */
export interface MonitoringRole {
  readonly role: ManagedPolicyRole;
  readonly policy: IDependable;
}

/**
 * The role Enhanced Monitoring assumes to write the instance's samples: the actions of AWS's
 * AmazonRDSEnhancedMonitoringRole, on the one log group RDS writes them to in this account and
 * Region rather than on every `RDS*` group of every Region, in a managed policy of its own. Only
 * RDS acting for this instance may assume it (the confused-deputy conditions RDS documents).
 */
export function monitoringRole(
  scope: Construct,
  config: EnvironmentConfig,
  instanceIdentifier: string,
): MonitoringRole {
  const stack = Stack.of(scope);
  const role = new ManagedPolicyRole(scope, 'MonitoringRole', {
    description: `AuraLink AIC RDS Enhanced Monitoring of ${instanceIdentifier} (${config.name})`,
    assumedBy: new ServicePrincipal('monitoring.rds.amazonaws.com').withConditions({
      StringEquals: { 'aws:SourceAccount': stack.account },
      ArnLike: {
        'aws:SourceArn': stack.formatArn({
          service: 'rds',
          resource: 'db',
          resourceName: instanceIdentifier,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      },
    }),
  });
  const logGroup = (suffix: string) =>
    stack.formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: `${MONITORING_LOG_GROUP}${suffix}`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
  const { policyDependable } = role.addToPrincipalPolicy(
    new PolicyStatement({
      actions: [
        'logs:CreateLogGroup',
        'logs:PutRetentionPolicy',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'logs:DescribeLogStreams',
        'logs:GetLogEvents',
      ],
      resources: [logGroup(''), logGroup(':*')],
    }),
  );
  acknowledgeMonitoringStreams(role);
  return { role, policy: policyDependable as IDependable };
}

/** The log streams of the monitoring group: each instance's is named after its resource ID. */
function acknowledgeMonitoringStreams(role: ManagedPolicyRole): void {
  Validations.of(role).acknowledge({
    id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:${MONITORING_LOG_GROUP}:*]`,
    reason:
      'RDS names the Enhanced Monitoring log stream of an instance after its resource ID, which ' +
      'exists only once the instance does, and the instance needs this role first: the streams ' +
      `of the ${MONITORING_LOG_GROUP} group of this account and Region are the narrowest scope.`,
  });
}
