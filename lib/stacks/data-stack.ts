import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Connections, SubnetSelection } from 'aws-cdk-lib/aws-ec2';
import type { CfnReplicationGroup } from 'aws-cdk-lib/aws-elasticache';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import type { DatabaseInstance, DatabaseProxy } from 'aws-cdk-lib/aws-rds';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Trigger } from 'aws-cdk-lib/triggers';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/environment-config.ts';
import type { AicFunction } from '../constructs/aic-function.ts';
import type { DataAccess } from '../constructs/data/data-access.ts';
import { DatabaseBackup } from '../constructs/data/database-backup.ts';
import { DatabaseDeployStep } from '../constructs/data/database-deploy-step.ts';
import {
  APP_DATABASE_USER,
  DATABASE_USER,
  MIGRATOR_DATABASE_USER,
  PostgresDatabase,
} from '../constructs/data/postgres-database.ts';
import { RedisCache } from '../constructs/data/redis-cache.ts';
import { type NetworkStack, SUBNET_GROUPS } from './network-stack.ts';

/** Properties of {@link DataStack}. */
export interface DataStackProps extends StackProps {
  /** The environment it is deployed to. */
  readonly config: EnvironmentConfig;
  /** The environment's network. */
  readonly network: NetworkStack;
}

/** A deploy-time function and the trigger that runs it. */
export interface DeployStep {
  readonly fn: AicFunction;
  readonly trigger: Trigger;
}

/**
 * The stateful part of one environment: RDS for PostgreSQL behind RDS Proxy with a rotated
 * credentials secret per database user, backed up by AWS Backup (point-in-time recovery, and a
 * copy in another Region where configured), the deploy-time steps (the database bootstrap, then the
 * schema migrations), and ElastiCache for Redis whose only enabled user authenticates with IAM.
 * Everything sits in the isolated data subnets; clients reach it through
 * {@link DataStack.proxyConnections} and {@link DataStack.redisConnections}, as the app database
 * role and the Redis service user ({@link DataAccess}).
 */
export class DataStack extends Stack implements DataAccess {
  /** The PostgreSQL instance. */
  readonly database: DatabaseInstance;
  /** AWS Backup of the instance: vault, plan (continuous backups) and selection. */
  readonly databaseBackup: DatabaseBackup;
  /** The credentials secret of the master user (username, password, host, port, dbname). */
  readonly databaseSecret: ISecret;
  /** The credentials secret of the app role, in the same form. */
  readonly appDatabaseSecret: ISecret;
  /** The credentials secret of the migrator role, in the same form. */
  readonly migratorDatabaseSecret: ISecret;
  /** RDS Proxy in front of the instance; clients connect to its endpoint on `PROXY_PORT`. */
  readonly proxy: DatabaseProxy;
  /** Who may connect to the proxy: `connections.allowTo(dataStack.proxyConnections, ...)`. */
  readonly proxyConnections: Connections;
  /** Redis: the replication group, its users and user group. */
  readonly cache: RedisCache;
  /** The Redis replication group. */
  readonly redis: CfnReplicationGroup;
  /** Port of Redis. */
  readonly redisPort: number;
  /** Who may connect to Redis. */
  readonly redisConnections: Connections;
  /** The deploy-time database bootstrap (as the master user) and its trigger. */
  readonly bootstrap: DeployStep;
  /** The deploy-time migration function (as the migrator role) and its trigger. */
  readonly migrations: DeployStep;

  private readonly postgres: PostgresDatabase;

  constructor(scope: Construct, id: string, props: DataStackProps) {
    super(scope, id, props);
    const { config, network } = props;
    const { vpc } = network;
    const dataSubnets: SubnetSelection = { subnetGroupName: SUBNET_GROUPS.data };
    const appSubnets: SubnetSelection = { subnetGroupName: SUBNET_GROUPS.app };

    this.postgres = new PostgresDatabase(this, 'Postgres', {
      config,
      vpc,
      subnets: dataSubnets,
      rotation: { subnets: appSubnets, endpoint: network.secretsManagerEndpoint },
    });
    this.database = this.postgres.instance;
    this.databaseBackup = new DatabaseBackup(this, 'DatabaseBackup', {
      config,
      instance: this.postgres.instance,
    });
    this.databaseSecret = this.postgres.secret;
    this.appDatabaseSecret = this.postgres.appSecret;
    this.migratorDatabaseSecret = this.postgres.migratorSecret;
    this.proxy = this.postgres.proxy;
    this.proxyConnections = this.postgres.proxyConnections;

    const deployNetwork = { vpc, subnets: appSubnets };
    // The only function that may connect as the master user (with IAM auth tokens, never the
    // master's password); it reads the two role secrets, and no other, to give the roles logins.
    const bootstrap = new DatabaseDeployStep(this, 'Bootstrap', {
      config,
      network: deployNetwork,
      database: this.postgres,
      functionName: 'databaseBootstrap',
      idPrefix: 'DatabaseBootstrap',
      user: DATABASE_USER,
      purpose: 'Database bootstrap',
      environment: {
        DB_APP_SECRET_ARN: this.postgres.appSecret.secretArn,
        DB_MIGRATOR_SECRET_ARN: this.postgres.migratorSecret.secretArn,
      },
    });
    this.postgres.appSecret.grantRead(bootstrap.fn.function);
    this.postgres.migratorSecret.grantRead(bootstrap.fn.function);
    this.bootstrap = { fn: bootstrap.fn, trigger: bootstrap.trigger };
    const migrations = new DatabaseDeployStep(this, 'Migrations', {
      config,
      network: deployNetwork,
      database: this.postgres,
      functionName: 'migrate',
      idPrefix: 'Migrate',
      user: MIGRATOR_DATABASE_USER,
      purpose: 'Schema migrations',
      executeAfter: [bootstrap.trigger],
    });
    this.migrations = { fn: migrations.fn, trigger: migrations.trigger };
    // A new role secret rotates as soon as its schedule exists: after the bootstrap and the
    // migrations, so none of the deploy's own connections sees the password change.
    this.postgres.rotateRolesAfter(bootstrap.trigger);
    this.postgres.rotateRolesAfter(migrations.trigger);

    this.cache = new RedisCache(this, 'Cache', { config, vpc, subnets: dataSubnets });
    this.redis = this.cache.replicationGroup;
    this.redisPort = this.cache.port;
    this.redisConnections = this.cache.connections;
  }

  /**
   * The variables that point a service at the database through the proxy with IAM auth, as the
   * app role: the proxy endpoint, port, database and user. No secret: the service signs its own
   * tokens.
   */
  databaseEnvironment(): Record<string, string> {
    return this.postgres.environment(APP_DATABASE_USER);
  }

  /** Lets `grantee` connect to the proxy as the app role (`rds-db:connect`), and as no other. */
  grantConnect(grantee: IGrantable): void {
    this.postgres.grantConnect(grantee, APP_DATABASE_USER);
  }

  /**
   * The variables that point a service at Redis over TLS as the service user, authenticating with
   * IAM: the URL, the user and the replication group the tokens are signed for.
   */
  redisEnvironment(): Record<string, string> {
    return this.cache.environment();
  }

  /** Lets `grantee` connect to Redis as the service user (`elasticache:Connect`). */
  grantRedisConnect(grantee: IGrantable): void {
    this.cache.grantConnect(grantee);
  }
}
