import { Duration } from 'aws-cdk-lib';
import { Port } from 'aws-cdk-lib/aws-ec2';
import { InvocationType, Trigger } from 'aws-cdk-lib/triggers';
import type { Construct, IConstruct } from 'constructs';
import type { DeployFunctionName } from '../../config/deploy-functions.ts';
import type { EnvironmentConfig } from '../../config/environment-config.ts';
import { FUNCTION_SIZING } from '../../config/function-sizing.ts';
import { AicFunction, type AicFunctionNetwork } from '../aic-function.ts';
import { FlatConstruct } from '../flat-construct.ts';
import { type DatabaseUser, type PostgresDatabase, PROXY_PORT } from './postgres-database.ts';

/** Properties of {@link DatabaseDeployStep}. */
export interface DatabaseDeployStepProps {
  /** The environment it is deployed to. */
  readonly config: EnvironmentConfig;
  /** Where the function runs: subnets that reach the proxy. */
  readonly network: AicFunctionNetwork;
  /** The database it works on, through its proxy. */
  readonly database: PostgresDatabase;
  /** The deploy function it runs. */
  readonly functionName: DeployFunctionName;
  /** The construct ids are `<idPrefix>Function` and `<idPrefix>Trigger`. */
  readonly idPrefix: string;
  /** The one database user the function may connect as. */
  readonly user: DatabaseUser;
  /** What it does, for its security group rule: `<purpose> through RDS Proxy`. */
  readonly purpose: string;
  /** Variables besides the database connection's. */
  readonly environment?: Record<string, string>;
  /** The deploy steps it waits for besides the proxy and the instance. */
  readonly executeAfter?: readonly IConstruct[];
}

/**
 * A step of the deployment that works on the database (docs/design.md section 5.6): a deploy
 * function allowed to connect to the proxy as one database user and as no other, and a trigger that
 * runs it once the proxy, the instance and the given steps are done, and again whenever its code
 * changes. The deployment waits for it and rolls back if it fails, so new code never runs against
 * an old schema or roles without their logins.
 */
export class DatabaseDeployStep extends FlatConstruct {
  /** The step's function. */
  readonly fn: AicFunction;
  /** The trigger that invokes it during the deployment. */
  readonly trigger: Trigger;

  constructor(scope: Construct, id: string, props: DatabaseDeployStepProps) {
    super(scope, id);
    const { database, functionName, idPrefix, user } = props;
    this.fn = new AicFunction(this.host, `${idPrefix}Function`, {
      functionName,
      config: props.config,
      network: props.network,
      environment: { ...database.environment(user), ...props.environment },
    });
    database.grantConnect(this.fn.function, user);
    this.fn.function.connections.allowTo(
      database.proxyConnections,
      Port.tcp(PROXY_PORT),
      `${props.purpose} through RDS Proxy`,
    );
    this.trigger = new Trigger(this.host, `${idPrefix}Trigger`, {
      handler: this.fn.function,
      invocationType: InvocationType.REQUEST_RESPONSE,
      // The function's own limit, plus a margin for a cold start.
      timeout: Duration.seconds(FUNCTION_SIZING[functionName].timeoutSeconds + 60),
      executeAfter: [database.proxy, database.instance, ...(props.executeAfter ?? [])],
      executeOnHandlerChange: true,
    });
  }
}
