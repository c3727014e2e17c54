import { type Connections, Port } from 'aws-cdk-lib/aws-ec2';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { PROXY_PORT } from './postgres-database.ts';

/**
 * What a service function or task needs to use the data of an environment, with no static secret:
 * Postgres through RDS Proxy with IAM auth tokens as the app role, and Redis over TLS with IAM
 * auth tokens as the services' user. It offers no other database user.
 */
export interface DataAccess {
  /** Who may connect to the proxy: `connections.allowTo(data.proxyConnections, ...)`. */
  readonly proxyConnections: Connections;
  /** Who may connect to Redis. */
  readonly redisConnections: Connections;
  /** Port of Redis. */
  readonly redisPort: number;
  /** Lets `grantee` connect to the proxy as the app role (`rds-db:connect`), and as no other. */
  grantConnect(grantee: IGrantable): void;
  /** Lets `grantee` connect to Redis as the services' user (`elasticache:Connect`). */
  grantRedisConnect(grantee: IGrantable): void;
  /** The variables that point a service at the database through the proxy with IAM auth. */
  databaseEnvironment(): Record<string, string>;
  /** The variables that point a service at Redis over TLS with IAM auth. */
  redisEnvironment(): Record<string, string>;
}

/**
 * Opens Postgres to a function in the VPC: the `rds-db:connect` grant and the proxy port. With
 * `redis`, also the Redis port and `elasticache:Connect`.
 */
export function connectToData(fn: IFunction, data: DataAccess, options: { redis: boolean }): void {
  data.grantConnect(fn);
  fn.connections.allowTo(data.proxyConnections, Port.tcp(PROXY_PORT), 'Postgres through RDS Proxy');
  if (options.redis) {
    data.grantRedisConnect(fn);
    fn.connections.allowTo(data.redisConnections, Port.tcp(data.redisPort), 'Redis over TLS');
  }
}
