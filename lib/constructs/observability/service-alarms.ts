import {
  Alarm,
  ComparisonOperator,
  type IMetric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type { ITopic } from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../../config/environment-config.ts';
import { FlatConstruct } from '../flat-construct.ts';
import { withRunbook } from './runbook.ts';
import { MIN_REQUESTS_FOR_ERROR_RATE, serviceMetric } from './service-metrics.ts';

/** Properties of {@link ServiceAlarms}. */
export interface ServiceAlarmsProps {
  /** The environment it is deployed to; its thresholds apply. */
  readonly config: EnvironmentConfig;
  /** Where the alarms notify, on ALARM and on OK. */
  readonly topic: ITopic;
  /** The HTTP API's 5xx rate in percent (`httpErrorRate`). */
  readonly errorRate: IMetric;
  /** The p95 of request latency (`latencyP95`). */
  readonly latencyP95: IMetric;
}

/** How many periods an alarm looks at, and how many of them must breach. */
interface Evaluation {
  readonly evaluationPeriods?: number;
  readonly datapointsToAlarm?: number;
}

/** Two breaching periods of the last three: a single slow or failing period pages nobody. */
const TWO_OF_THREE: Evaluation = { evaluationPeriods: 3, datapointsToAlarm: 2 };

/**
 * The alarms that page the operators: the API's 5xx rate, request latency, the Redis circuit
 * breaker opening, rate-limit rejections and database connections given up. Each notifies the
 * topic when it goes into ALARM and when it returns to OK.
 */
export class ServiceAlarms extends FlatConstruct {
  /** The alarms, by name. */
  readonly alarms: Readonly<Record<string, Alarm>>;

  private readonly props: ServiceAlarmsProps;

  constructor(scope: Construct, id: string, props: ServiceAlarmsProps) {
    super(scope, id);
    this.props = props;
    const thresholds = props.config.alarms;
    this.alarms = {
      http5xxRate: this.alarm(
        'http-5xx-rate',
        props.errorRate,
        thresholds.http5xxRatePercent,
        `More than ${thresholds.http5xxRatePercent} % of API requests answered 5xx in 2 of the last 3 five-minute periods (periods with fewer than ${MIN_REQUESTS_FOR_ERROR_RATE} requests do not count).`,
        TWO_OF_THREE,
      ),
      latencyP95: this.alarm(
        'latency-p95',
        props.latencyP95,
        thresholds.latencyP95Ms,
        `Request latency p95 above ${thresholds.latencyP95Ms} ms in 2 of the last 3 five-minute periods.`,
        TWO_OF_THREE,
      ),
      redisBreakerOpen: this.alarm(
        'redis-breaker-open',
        serviceMetric('RedisBreakerOpen', 'Sum'),
        1,
        'The Redis circuit breaker opened: rate limiting runs per container (degraded) until Redis answers again.',
      ),
      rateLimitRejections: this.alarm(
        'rate-limit-rejections',
        serviceMetric('RateLimitRejected', 'Sum'),
        thresholds.rateLimitRejectionsPer5Min,
        `At least ${thresholds.rateLimitRejectionsPer5Min} requests rejected by the rate limiter within five minutes: a client misbehaving or limits too tight.`,
      ),
      dbConnectFailures: this.alarm(
        'db-connect-failures',
        serviceMetric('DbConnectFailure', 'Sum'),
        1,
        'A container gave up connecting to Postgres after every retry: the service cannot reach its database.',
      ),
    };
  }

  /** One alarm at or above `threshold`, notifying the topic on ALARM and on OK. */
  private alarm(
    name: string,
    metric: IMetric,
    threshold: number,
    description: string,
    evaluation: Evaluation = {},
  ): Alarm {
    const alarm = new Alarm(this.host, `${name}Alarm`, {
      alarmName: `auralink-aic-${this.props.config.name}-${name}`,
      alarmDescription: withRunbook(name, description),
      metric,
      threshold,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: evaluation.evaluationPeriods ?? 1,
      datapointsToAlarm: evaluation.datapointsToAlarm ?? 1,
      // No data means no requests, no decisions or no failures: nothing is wrong.
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    alarm.addAlarmAction(new SnsAction(this.props.topic));
    alarm.addOkAction(new SnsAction(this.props.topic));
    return alarm;
  }
}
