import { Duration } from 'aws-cdk-lib';
import { Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import type { Construct } from 'constructs';
import {
  SCHEDULED_FUNCTIONS,
  type ScheduledFunctionName,
} from '../../../functions/core/contracts/routes.ts';
import type { EnvironmentConfig } from '../../config/environment-config.ts';
import { AicFunction, type AicFunctionNetwork } from '../aic-function.ts';
import { FlatConstruct } from '../flat-construct.ts';

/** Properties of {@link ScheduledFunction}. */
export interface ScheduledFunctionProps {
  /** Which scheduled function to build; selects its entry, sizing and rate. */
  readonly functionName: ScheduledFunctionName;
  /** The environment it is deployed to. */
  readonly config: EnvironmentConfig;
  /** Where the function runs. */
  readonly network: AicFunctionNetwork;
  /** Environment variables of the function: endpoints and secret ARNs, never values. */
  readonly environment: Readonly<Record<string, string>>;
}

/**
 * A function of {@link SCHEDULED_FUNCTIONS} and the EventBridge rule that invokes it at its rate.
 * A failed run is not retried: each run recomputes its state from the database, so the next one
 * supersedes it. A run that fails, or that could not be delivered or started within its minute,
 * lands in the function's dead-letter queue ({@link AicFunction.deadLetterQueue}), where an alarm
 * counts it. Its construct IDs are `<Name>Function` and `<Name>Schedule`.
 */
export class ScheduledFunction extends FlatConstruct {
  /** The function. */
  readonly fn: AicFunction;
  /** The schedule. */
  readonly rule: Rule;

  constructor(scope: Construct, id: string, props: ScheduledFunctionProps) {
    super(scope, id);
    const { functionName, config } = props;
    const name = `${functionName.charAt(0).toUpperCase()}${functionName.slice(1)}`;
    const { everyMinutes, description } = SCHEDULED_FUNCTIONS[functionName];
    this.fn = new AicFunction(this.host, `${name}Function`, {
      functionName,
      config,
      network: props.network,
      environment: props.environment,
    });
    this.rule = new Rule(this.host, `${name}Schedule`, {
      description: `${description} (${config.name})`,
      schedule: Schedule.rate(Duration.minutes(everyMinutes)),
      targets: [
        new LambdaFunction(this.fn.function, {
          // A delivery that fails (Lambda refusing the invocation) is tried again only within the
          // run's own minute: later, the next run reads fresher data. Then the event is set aside.
          retryAttempts: 2,
          maxEventAge: Duration.minutes(1),
          deadLetterQueue: this.fn.deadLetterQueue,
        }),
      ],
    });
  }
}
