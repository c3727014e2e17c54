import { Stack, type StackProps } from 'aws-cdk-lib';
import type { Connections, SubnetSelection } from 'aws-cdk-lib/aws-ec2';
import type { CfnReplicationGroup } from 'aws-cdk-lib/aws-elasticache';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import type { DatabaseInstance, DatabaseProxy } from 'aws-cdk-lib/aws-rds';
import type { ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import type { Trigger } from 'aws-cdk-lib/triggers';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/environment-config.ts';
import type { AicFunction } from '../constructs/aic-function.ts';
import type { DataAccess } from '../constructs/data/data-access.ts';
import { MigrationTrigger } from '../constructs/data/migration-trigger.ts';
import { PostgresDatabase } from '../constructs/data/postgres-database.ts';
import { RedisCache } from '../constructs/data/redis-cache.ts';
import { type NetworkStack, SUBNET_GROUPS } from './network-stack.ts';

/** Properties of {@link DataStack}. */
export interface DataStackProps extends StackProps {
  /** The environment it is deployed to. */
  readonly config: EnvironmentConfig;
  /** The environment's network. */
  readonly network: NetworkStack;
}

/**
 * The stateful part of one environment: RDS for PostgreSQL behind RDS Proxy, its credentials
 * secret with a rotation schedule, the schema migrations applied at deploy time, and ElastiCache
 * for Redis with an AUTH token from Secrets Manager. Everything sits in the isolated data subnets;
 * clients reach it through {@link DataStack.proxyConnections} and {@link DataStack.redisConnections}.
 */
export class DataStack extends Stack implements DataAccess {
  /** The PostgreSQL instance. */
  readonly database: DatabaseInstance;
  /** The credentials secret of the database user (username, password, host, port, dbname). */
  readonly databaseSecret: ISecret;
  /** RDS Proxy in front of the instance; clients connect to its endpoint on `PROXY_PORT`. */
  readonly proxy: DatabaseProxy;
  /** Who may connect to the proxy: `connections.allowTo(dataStack.proxyConnections, ...)`. */
  readonly proxyConnections: Connections;
  /** The Redis replication group. */
  readonly redis: CfnReplicationGroup;
  /** The Redis AUTH token (a plain string secret). */
  readonly redisAuthSecret: Secret;
  /** Port of Redis. */
  readonly redisPort: number;
  /** Who may connect to Redis. */
  readonly redisConnections: Connections;
  /** The deploy-time migration function and its trigger. */
  readonly migrations: { fn: AicFunction; trigger: Trigger };

  private readonly postgres: PostgresDatabase;
  private readonly cache: RedisCache;

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
    this.databaseSecret = this.postgres.secret;
    this.proxy = this.postgres.proxy;
    this.proxyConnections = this.postgres.proxyConnections;

    const { fn, trigger } = new MigrationTrigger(this, 'Migrations', {
      config,
      network: { vpc, subnets: appSubnets },
      database: this.postgres,
    });
    this.migrations = { fn, trigger };

    this.cache = new RedisCache(this, 'Cache', { config, vpc, subnets: dataSubnets });
    this.redis = this.cache.replicationGroup;
    this.redisAuthSecret = this.cache.authSecret;
    this.redisPort = this.cache.port;
    this.redisConnections = this.cache.connections;
  }

  /**
   * The variables that point a service at the database through the proxy with IAM auth: the proxy
   * endpoint, port, database and user. No secret: the service signs its own tokens.
   */
  databaseEnvironment(): Record<string, string> {
    return this.postgres.environment();
  }

  /** Lets `grantee` connect to the proxy as the database user (`rds-db:connect`). */
  grantConnect(grantee: IGrantable): void {
    this.postgres.grantConnect(grantee);
  }

  /** The variables that point a service at Redis over TLS, with the AUTH token's secret ARN. */
  redisEnvironment(): Record<string, string> {
    return this.cache.environment();
  }
}
