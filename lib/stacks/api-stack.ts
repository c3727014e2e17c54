import { CfnOutput, Duration, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { Construct } from 'constructs';
import {
  FUNCTION_ENTRIES,
  type FunctionName,
  routeList,
  SCHEDULED_FUNCTIONS,
  type ScheduledFunctionName,
} from '../../functions/http/routes.ts';
import type { EnvironmentConfig } from '../config/environment-config.ts';
import { FUNCTION_SIZING } from '../config/function-sizing.ts';
import { AicFunction } from '../constructs/aic-function.ts';
import { RouteTableApi } from '../constructs/route-table-api.ts';
import { SharpLayer } from '../constructs/sharp-layer.ts';

/** Properties of {@link ApiStack}. */
export interface ApiStackProps extends StackProps {
  /** The environment it is deployed to. */
  readonly config: EnvironmentConfig;
}

/**
 * The public HTTP API of one environment: one Lambda function per {@link FunctionName}, the sharp
 * layer for those that need it, and the routes of the route table in front of them.
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

  constructor(scope: Construct, id: string, props: ApiStackProps) {
    super(scope, id, props);
    const { config } = props;

    const names = Object.keys(FUNCTION_ENTRIES) as FunctionName[];
    if (names.some((name) => FUNCTION_SIZING[name].needsSharp)) {
      this.sharpLayer = new SharpLayer(this, 'SharpLayer');
    }
    this.functions = Object.fromEntries(
      names.map((name) => [
        name,
        new AicFunction(this, `${name.charAt(0).toUpperCase()}${name.slice(1)}Function`, {
          functionName: name,
          config,
          sharpLayer: this.sharpLayer?.layer,
        }),
      ]),
    ) as Record<FunctionName, AicFunction>;

    const handlers = Object.fromEntries(
      names.map((name) => [name, this.functions[name].function]),
    ) as Record<FunctionName, AicFunction['function']>;
    this.api = new RouteTableApi(this, 'Api', { routes: routeList, functions: handlers, config });

    const scheduledNames = Object.keys(SCHEDULED_FUNCTIONS) as ScheduledFunctionName[];
    this.scheduled = Object.fromEntries(
      scheduledNames.map((name) => {
        const id = `${name.charAt(0).toUpperCase()}${name.slice(1)}`;
        const { everyMinutes, description } = SCHEDULED_FUNCTIONS[name];
        const fn = new AicFunction(this, `${id}Function`, { functionName: name, config });
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
