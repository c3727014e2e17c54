/**
 * When the data stores of every environment back up and take their weekly maintenance, in UTC: at
 * night before the European working day (the environments run in eu-west-1), one after the other.
 * RDS and ElastiCache refuse a backup window that overlaps the same store's maintenance window,
 * and would otherwise pick that one at random, so both are fixed here.
 */
export const DATA_WINDOWS = {
  /** Hour (UTC) the daily AWS Backup rule of the database starts in. */
  databaseBackupHourUtc: 1,
  /** The instance's own daily snapshot window: the hour of the AWS Backup rule. */
  databaseBackup: '01:00-02:00',
  /** The instance's weekly maintenance (minor version upgrades, OS patches). */
  databaseMaintenance: 'sun:03:00-sun:04:00',
  /** Redis's daily snapshot, apart from the database's. */
  redisSnapshot: '02:00-03:00',
  /** Redis's weekly maintenance. */
  redisMaintenance: 'sun:04:00-sun:05:00',
} as const;
