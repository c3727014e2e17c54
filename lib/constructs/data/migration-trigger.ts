import { Duration } from 'aws-cdk-lib';
import { Port } from 'aws-cdk-lib/aws-ec2';
import { InvocationType, Trigger } from 'aws-cdk-lib/triggers';
import type { Construct, IConstruct } from 'constructs';
import type { EnvironmentConfig } from '../../config/environment-config.ts';
import { FUNCTION_SIZING } from '../../config/function-sizing.ts';
import { AicFunction, type AicFunctionNetwork } from '../aic-function.ts';
import { FlatConstruct } from '../flat-construct.ts';
import { MIGRATOR_DATABASE_USER, type PostgresDatabase, PROXY_PORT } from './postgres-database.ts';

/** Properties of {@link MigrationTrigger}. */
export interface MigrationTriggerProps {
  /** The environment it is deployed to. */
  readonly config: EnvironmentConfig;
  /** Where the migration function runs: subnets that reach the proxy. */
  readonly network: AicFunctionNetwork;
  /** The database to migrate, through its proxy. */
  readonly database: PostgresDatabase;
  /** The deploy steps the migrations wait for besides the proxy and the instance. */
  readonly executeAfter?: readonly IConstruct[];
}

/**
 * The schema migrations, applied at deploy time: the `migrate` function, allowed to connect to
 * the proxy as the migrator role and as no other user, and a trigger that runs it once the proxy,
 * the instance and the given steps (the database bootstrap, which gives that role its login) are
 * done, and again whenever its code changes. The deployment waits for it and rolls back if it
 * fails, so new code never runs against an old schema.
 */
export class MigrationTrigger extends FlatConstruct {
  /** The migration function. */
  readonly fn: AicFunction;
  /** The trigger that invokes it during the deployment. */
  readonly trigger: Trigger;

  constructor(scope: Construct, id: string, props: MigrationTriggerProps) {
    super(scope, id);
    const { database } = props;
    this.fn = new AicFunction(this.host, 'MigrateFunction', {
      functionName: 'migrate',
      config: props.config,
      network: props.network,
      environment: database.environment(MIGRATOR_DATABASE_USER),
    });
    database.grantConnect(this.fn.function, MIGRATOR_DATABASE_USER);
    this.fn.function.connections.allowTo(
      database.proxyConnections,
      Port.tcp(PROXY_PORT),
      'Schema migrations through RDS Proxy',
    );
    this.trigger = new Trigger(this.host, 'MigrateTrigger', {
      handler: this.fn.function,
      invocationType: InvocationType.REQUEST_RESPONSE,
      // The function's own limit, plus a margin for a cold start.
      timeout: Duration.seconds(FUNCTION_SIZING.migrate.timeoutSeconds + 60),
      executeAfter: [database.proxy, database.instance, ...(props.executeAfter ?? [])],
      executeOnHandlerChange: true,
    });
  }
}
