import { Duration } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  type IMetric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../../config/environment-config.ts';
import { FlatConstruct } from '../flat-construct.ts';
import { withRunbook } from '../observability/runbook.ts';

/** Properties of {@link MetricsAlarms}. */
export interface MetricsAlarmsProps {
  /** The environment it is deployed to; `alarms.metricsIteratorAgeSeconds` applies. */
  readonly config: EnvironmentConfig;
  /** Where the alarms notify, on ALARM and on OK (the observability stack's topic). */
  readonly topic: ITopic;
  /** The metrics consumer function. */
  readonly consumer: IFunction;
  /** The mapping's on-failure destination. */
  readonly failedBatches: IQueue;
}

/** The period of both alarms. */
const PERIOD = Duration.minutes(5);

/**
 * The alarms of the metrics stream, with the service's other alarms and on the same topic: the
 * consumer falling behind (the Lambda `IteratorAge` of its mapping: the age of the last record of
 * a batch when it was read), and any batch given up on (a message in the failed-batches queue:
 * its records are missing from the totals until replayed, which the 24 h retention bounds).
 */
export class MetricsAlarms extends FlatConstruct {
  /** The alarms, by name. */
  readonly alarms: Readonly<Record<'iteratorAge' | 'failedBatches', Alarm>>;

  constructor(scope: Construct, id: string, props: MetricsAlarmsProps) {
    super(scope, id);
    const { config } = props;
    const ageSeconds = config.alarms.metricsIteratorAgeSeconds;
    this.alarms = {
      iteratorAge: this.alarm(
        props,
        'metrics-consumer-iterator-age',
        props.consumer.metric('IteratorAge', { statistic: 'Maximum', period: PERIOD }),
        ageSeconds * 1000,
        `The metrics consumer is ${ageSeconds} s or more behind the frame event stream: the dashboard and alerts lag, and records older than 6 h are given up.`,
      ),
      failedBatches: this.alarm(
        props,
        'metrics-failed-batches',
        props.failedBatches.metricApproximateNumberOfMessagesVisible({
          statistic: 'Maximum',
          period: PERIOD,
        }),
        1,
        'The metrics consumer gave up on a batch of frame events: replay it from the stream (24 h retention) using the shard and sequence numbers in the metrics-failed-batches queue.',
      ),
    };
  }

  /** One alarm at or above `threshold` in a single period, notifying on ALARM and on OK. */
  private alarm(
    { config, topic }: MetricsAlarmsProps,
    name: string,
    metric: IMetric,
    threshold: number,
    description: string,
  ): Alarm {
    const alarm = new Alarm(this.host, `${name}Alarm`, {
      alarmName: `auralink-aic-${config.name}-${name}`,
      alarmDescription: withRunbook(name, description),
      metric,
      threshold,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      datapointsToAlarm: 1,
      // No data means no records to read and no failed batch: nothing is wrong.
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(new SnsAction(topic));
    alarm.addOkAction(new SnsAction(topic));
    return alarm;
  }
}
