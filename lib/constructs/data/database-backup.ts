import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import {
  BackupPlan,
  type BackupPlanCopyActionProps,
  BackupPlanRule,
  BackupResource,
  type BackupSelection,
  BackupVault,
} from 'aws-cdk-lib/aws-backup';
import { Schedule } from 'aws-cdk-lib/aws-events';
import { Key } from 'aws-cdk-lib/aws-kms';
import type { DatabaseInstance } from 'aws-cdk-lib/aws-rds';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../../config/environment-config.ts';
import { FlatConstruct } from '../flat-construct.ts';
import { DATA_WINDOWS } from './data-windows.ts';

/** The name of an environment's database backup vault: fixed, so monitoring can name it. */
export function databaseBackupVaultName(environment: string): string {
  return `auralink-aic-${environment}-database`;
}

/** Properties of {@link DatabaseBackup}. */
export interface DatabaseBackupProps {
  /** The environment it is deployed to. */
  readonly config: EnvironmentConfig;
  /** The instance it backs up. */
  readonly instance: DatabaseInstance;
}

/**
 * AWS Backup for the PostgreSQL instance: a vault encrypted with a key of its own, and a plan
 * whose daily rule keeps continuous backups (point-in-time recovery to any second of
 * `database.backupRetentionDays`) and, where `database.backupCopy` is set, copies a snapshot of
 * each day to a vault in another Region. Continuous backups of RDS are the instance's automated
 * backups under AWS Backup's management: the instance keeps the same retention and backup window.
 */
export class DatabaseBackup extends FlatConstruct {
  /** The key of the vault. */
  readonly vaultKey: Key;
  /** Where the recovery points are kept. */
  readonly vault: BackupVault;
  /** The plan with its one rule. */
  readonly plan: BackupPlan;
  /** The selection of the instance, with the role AWS Backup assumes for it. */
  readonly selection: BackupSelection;

  constructor(scope: Construct, id: string, props: DatabaseBackupProps) {
    super(scope, id);
    const { config } = props;
    // Retained with the environment: a deleted vault key would make every recovery point in the
    // vault unreadable, and a stack deletion cannot delete a vault that still holds any.
    const removalPolicy = config.retainOnDelete ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY;
    this.vaultKey = new Key(this.host, 'BackupVaultKey', {
      description: `AuraLink AIC database backup vault (${config.name})`,
      enableKeyRotation: true,
      removalPolicy,
    });
    this.vault = new BackupVault(this.host, 'BackupVault', {
      backupVaultName: databaseBackupVaultName(config.name),
      encryptionKey: this.vaultKey,
      removalPolicy,
    });
    this.plan = new BackupPlan(this.host, 'DatabaseBackupPlan', {
      backupPlanName: `auralink-aic-${config.name}-database`,
      backupVault: this.vault,
      backupPlanRules: [this.dailyRule(config)],
    });
    this.selection = this.plan.addSelection('Database', {
      resources: [BackupResource.fromRdsDatabaseInstance(props.instance)],
    });
    Validations.of(this.selection).acknowledge({
      id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]',
      reason:
        'The role AWS Backup assumes to back up the instance holds the service role policy AWS ' +
        'maintains for exactly that; AWS revises it as the service needs new actions, which a copy ' +
        'of our own would miss until the backups failed.',
    });
  }

  /**
   * The daily rule: continuous backups kept `backupRetentionDays`, started in the instance's own
   * backup window, and the optional copy to another Region.
   */
  private dailyRule(config: EnvironmentConfig): BackupPlanRule {
    const { backupCopy } = config.database;
    const copyActions: BackupPlanCopyActionProps[] = backupCopy
      ? [
          {
            destinationBackupVault: BackupVault.fromBackupVaultArn(
              this.host,
              'BackupCopyVault',
              backupCopy.vaultArn,
            ),
            deleteAfter: Duration.days(backupCopy.retentionDays),
          },
        ]
      : [];
    return new BackupPlanRule({
      ruleName: 'DailyWithPointInTimeRecovery',
      scheduleExpression: Schedule.cron({
        minute: '0',
        hour: String(DATA_WINDOWS.databaseBackupHourUtc),
      }),
      startWindow: Duration.hours(1),
      completionWindow: Duration.hours(3),
      enableContinuousBackup: true,
      deleteAfter: Duration.days(config.database.backupRetentionDays),
      copyActions,
    });
  }
}
