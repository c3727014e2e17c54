import { CfnOutput, Duration, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { Port } from 'aws-cdk-lib/aws-ec2';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { Construct } from 'constructs';
import {
  FUNCTION_ENTRIES,
  type FunctionName,
  routeList,
  SCHEDULED_FUNCTIONS,
  type ScheduledFunctionName,
} from '../../functions/core/contracts/routes.ts';
import type { EnvironmentConfig } from '../config/environment-config.ts';
import { FUNCTION_SIZING } from '../config/function-sizing.ts';
import { AicFunction } from '../constructs/aic-function.ts';
import { RouteTableApi } from '../constructs/route-table-api.ts';
import { SharpLayer } from '../constructs/sharp-layer.ts';
import { CognitoIssuer, configuredIssuer, type TokenIssuer } from '../constructs/token-issuer.ts';
import { type DataStack, PROXY_PORT } from './data-stack.ts';
import { type NetworkStack, SUBNET_GROUPS } from './network-stack.ts';

/** Properties of {@link ApiStack}. */
export interface ApiStackProps extends StackProps {
  /** The environment it is deployed to. */
  readonly config: EnvironmentConfig;
  /** The environment's network. */
  readonly network: NetworkStack;
  /** Postgres and Redis. */
  readonly data: DataStack;
}

/**
 * The public HTTP API of one environment: one Lambda function per {@link FunctionName}, the sharp
 * layer for those that need it, and the routes of the route table in front of them. The functions
 * run in the VPC's application subnets; each may reach only RDS Proxy, Redis (if it uses it) and
 * the VPC endpoints, and read only the secrets it is given.
 */
export class ApiStack extends Stack {
  /** The Lambda functions, one per {@link FunctionName}. */
  readonly functions: Readonly<Record<FunctionName, AicFunction>>;
  /** The scheduled functions, one per {@link ScheduledFunctionName}, each with its rule. */
  readonly scheduled: Readonly<Record<ScheduledFunctionName, { fn: AicFunction; rule: Rule }>>;
  /** The HTTP API built from the route table. */
  readonly api: RouteTableApi;
  /** The sharp layer; absent when no function needs sharp. */
  readonly sharpLayer?: SharpLayer;
  /** Who signs the accepted tokens: the configured issuer, or {@link cognito}'s user pool. */
  readonly tokenIssuer: TokenIssuer;
  /** The fallback user pool; present only when the environment configures no `jwt` issuer. */
  readonly cognito?: CognitoIssuer;

  constructor(scope: Construct, id: string, props: ApiStackProps) {
    super(scope, id, props);
    const { config, network, data } = props;
    const functionNetwork = {
      vpc: network.vpc,
      subnets: { subnetGroupName: SUBNET_GROUPS.app },
    };
    /** Opens Postgres (and Redis, for the functions that use it) to a function. */
    const connect = (fn: AicFunction, options: { redis: boolean }) => {
      data.grantConnect(fn.function);
      fn.function.connections.allowTo(
        data.proxyConnections,
        Port.tcp(PROXY_PORT),
        'Postgres through RDS Proxy',
      );
      if (options.redis) {
        data.redisAuthSecret.grantRead(fn.function);
        fn.function.connections.allowTo(
          data.redisConnections,
          Port.tcp(data.redisPort),
          'Redis over TLS',
        );
      }
    };

    const names = Object.keys(FUNCTION_ENTRIES) as FunctionName[];
    if (names.some((name) => FUNCTION_SIZING[name].needsSharp)) {
      this.sharpLayer = new SharpLayer(this, 'SharpLayer');
    }
    this.functions = Object.fromEntries(
      names.map((name) => {
        const fn = new AicFunction(
          this,
          `${name.charAt(0).toUpperCase()}${name.slice(1)}Function`,
          {
            functionName: name,
            config,
            sharpLayer: this.sharpLayer?.layer,
            network: functionNetwork,
            environment: { ...data.databaseEnvironment(), ...data.redisEnvironment() },
          },
        );
        connect(fn, { redis: true });
        return [name, fn];
      }),
    ) as Record<FunctionName, AicFunction>;

    const handlers = Object.fromEntries(
      names.map((name) => [name, this.functions[name].function]),
    ) as Record<FunctionName, AicFunction['function']>;
    if (config.jwt) {
      this.tokenIssuer = configuredIssuer(config.jwt);
    } else {
      this.cognito = new CognitoIssuer(this, 'Auth', { config });
      this.tokenIssuer = this.cognito.tokenIssuer;
    }
    this.api = new RouteTableApi(this, 'Api', {
      routes: routeList,
      functions: handlers,
      config,
      tokenIssuer: this.tokenIssuer,
    });

    const scheduledNames = Object.keys(SCHEDULED_FUNCTIONS) as ScheduledFunctionName[];
    this.scheduled = Object.fromEntries(
      scheduledNames.map((name) => {
        const id = `${name.charAt(0).toUpperCase()}${name.slice(1)}`;
        const { everyMinutes, description } = SCHEDULED_FUNCTIONS[name];
        // The evaluator reads and writes Postgres only: no Redis variables, grant or port.
        const fn = new AicFunction(this, `${id}Function`, {
          functionName: name,
          config,
          network: functionNetwork,
          environment: data.databaseEnvironment(),
        });
        connect(fn, { redis: false });
        const rule = new Rule(this, `${id}Schedule`, {
          description: `${description} (${config.name})`,
          schedule: Schedule.rate(Duration.minutes(everyMinutes)),
          // A missed run is not retried: the next one, a minute later, reads fresher data.
          targets: [new LambdaFunction(fn.function, { retryAttempts: 0 })],
        });
        Validations.of(rule).acknowledge({
          id: 'Serverless-EventBusDLQ',
          reason:
            'The target recomputes its state from the database on every run of a one-minute ' +
            'schedule; an event kept in a dead-letter queue would replay an obsolete minute.',
        });
        return [name, { fn, rule }];
      }),
    ) as Record<ScheduledFunctionName, { fn: AicFunction; rule: Rule }>;

    new CfnOutput(this, 'ApiUrl', {
      description: 'Base URL of the AuraLink AIC HTTP API',
      value: this.api.stage.url,
    });
  }
}
