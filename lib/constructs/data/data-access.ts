import { type Connections, Port } from 'aws-cdk-lib/aws-ec2';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { PROXY_PORT } from './postgres-database.ts';

/**
 * What a function or task needs to use the data of an environment: Postgres through RDS Proxy
 * with IAM auth tokens, and Redis over TLS with an AUTH token it reads from Secrets Manager.
 */
export interface DataAccess {
  /** Who may connect to the proxy: `connections.allowTo(data.proxyConnections, ...)`. */
  readonly proxyConnections: Connections;
  /** Who may connect to Redis. */
  readonly redisConnections: Connections;
  /** Port of Redis. */
  readonly redisPort: number;
  /** The Redis AUTH token (a plain string secret). */
  readonly redisAuthSecret: ISecret;
  /** Lets `grantee` connect to the proxy as the database user (`rds-db:connect`). */
  grantConnect(grantee: IGrantable): void;
  /** The variables that point a service at the database through the proxy with IAM auth. */
  databaseEnvironment(): Record<string, string>;
  /** The variables that point a service at Redis over TLS, with the AUTH token's secret ARN. */
  redisEnvironment(): Record<string, string>;
}

/**
 * Opens Postgres to a function in the VPC: the `rds-db:connect` grant and the proxy port. With
 * `redis`, also the Redis port and the read of its AUTH token.
 */
export function connectToData(fn: IFunction, data: DataAccess, options: { redis: boolean }): void {
  data.grantConnect(fn);
  fn.connections.allowTo(data.proxyConnections, Port.tcp(PROXY_PORT), 'Postgres through RDS Proxy');
  if (options.redis) {
    data.redisAuthSecret.grantRead(fn);
    fn.connections.allowTo(data.redisConnections, Port.tcp(data.redisPort), 'Redis over TLS');
  }
}
