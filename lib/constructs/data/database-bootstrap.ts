import { Duration } from 'aws-cdk-lib';
import { Port } from 'aws-cdk-lib/aws-ec2';
import { InvocationType, Trigger } from 'aws-cdk-lib/triggers';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../../config/environment-config.ts';
import { FUNCTION_SIZING } from '../../config/function-sizing.ts';
import { AicFunction, type AicFunctionNetwork } from '../aic-function.ts';
import { FlatConstruct } from '../flat-construct.ts';
import { DATABASE_USER, type PostgresDatabase, PROXY_PORT } from './postgres-database.ts';

/** Properties of {@link DatabaseBootstrap}. */
export interface DatabaseBootstrapProps {
  /** The environment it is deployed to. */
  readonly config: EnvironmentConfig;
  /** Where the bootstrap function runs: subnets that reach the proxy. */
  readonly network: AicFunctionNetwork;
  /** The database whose roles it sets up, through its proxy. */
  readonly database: PostgresDatabase;
}

/**
 * The database bootstrap, run at deploy time before the migrations: the `databaseBootstrap`
 * function, the only one that may connect as the master user (through the proxy with IAM auth
 * tokens, never with the master's password), and a trigger that runs it once the proxy and the
 * instance exist and again whenever its code changes. It reads the app and migrator secrets, and
 * no other, to give those roles their logins. The role secrets' first rotation waits for it.
 */
export class DatabaseBootstrap extends FlatConstruct {
  /** The bootstrap function. */
  readonly fn: AicFunction;
  /** The trigger that invokes it during the deployment. */
  readonly trigger: Trigger;

  constructor(scope: Construct, id: string, props: DatabaseBootstrapProps) {
    super(scope, id);
    const { database } = props;
    this.fn = new AicFunction(this.host, 'DatabaseBootstrapFunction', {
      functionName: 'databaseBootstrap',
      config: props.config,
      network: props.network,
      environment: {
        ...database.environment(DATABASE_USER),
        DB_APP_SECRET_ARN: database.appSecret.secretArn,
        DB_MIGRATOR_SECRET_ARN: database.migratorSecret.secretArn,
      },
    });
    database.grantConnect(this.fn.function, DATABASE_USER);
    database.appSecret.grantRead(this.fn.function);
    database.migratorSecret.grantRead(this.fn.function);
    this.fn.function.connections.allowTo(
      database.proxyConnections,
      Port.tcp(PROXY_PORT),
      'Database bootstrap through RDS Proxy',
    );
    this.trigger = new Trigger(this.host, 'DatabaseBootstrapTrigger', {
      handler: this.fn.function,
      invocationType: InvocationType.REQUEST_RESPONSE,
      // The function's own limit, plus a margin for a cold start.
      timeout: Duration.seconds(FUNCTION_SIZING.databaseBootstrap.timeoutSeconds + 60),
      executeAfter: [database.proxy, database.instance],
      executeOnHandlerChange: true,
    });
    database.rotateRolesAfter(this.trigger);
  }
}
