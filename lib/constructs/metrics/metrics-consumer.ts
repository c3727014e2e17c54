import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import type { IStream } from 'aws-cdk-lib/aws-kinesis';
import { StartingPosition } from 'aws-cdk-lib/aws-lambda';
import { KinesisEventSource, SqsDlq } from 'aws-cdk-lib/aws-lambda-event-sources';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../../config/environment-config.ts';
import { AicFunction, type AicFunctionNetwork } from '../aic-function.ts';
import { connectToData, type DataAccess } from '../data/data-access.ts';
import { FlatConstruct } from '../flat-construct.ts';

/**
 * How the consumer reads the stream. Batches of up to 500 events (what one PutRecords carries and
 * what one write statement takes), gathered for at most 1 s so the dashboard stays near live.
 * From the oldest record kept (TRIM_HORIZON): a new or recreated mapping loses nothing still in
 * the stream, and the writes are idempotent on the event id. A failing batch is split in two until
 * the failing records are isolated (splits do not count as retries); the handler reports the
 * records it could not store, and the mapping retries from the first of them. After 10 retries, or
 * once a record is 6 h old (leaving 18 h of the 24 h retention to replay it), the batch's shard and
 * sequence range go to the failed-batches queue and the shard moves on.
 */
export const CONSUMER_MAPPING = {
  startingPosition: StartingPosition.TRIM_HORIZON,
  batchSize: 500,
  maxBatchingWindow: Duration.seconds(1),
  bisectBatchOnError: true,
  reportBatchItemFailures: true,
  retryAttempts: 10,
  maxRecordAge: Duration.hours(6),
} as const;

/** Receives of a failed-batch record (by an operator or a replay tool) before it is set aside. */
const FAILED_BATCH_MAX_RECEIVES = 5;

/** Properties of {@link MetricsConsumer}. */
export interface MetricsConsumerProps {
  /** The environment it is deployed to; its `metrics.parallelizationFactor` applies. */
  readonly config: EnvironmentConfig;
  /** The application subnets the function runs in. */
  readonly network: AicFunctionNetwork;
  /** Postgres through RDS Proxy (no Redis: the consumer only writes the database). */
  readonly data: DataAccess;
  /** The frame event stream it reads. */
  readonly stream: IStream;
}

/**
 * The metrics consumer: the `metricsConsumer` function in the application subnets, connected to
 * Postgres through RDS Proxy like the other functions (IAM auth, no Redis), invoked by a Kinesis
 * event source mapping ({@link CONSUMER_MAPPING}), and the SQS queue where the mapping records the
 * batches it gave up on (`metrics-failed-batches`, SSE-SQS, TLS only), with its own dead-letter
 * queue for records a replay could not handle.
 */
export class MetricsConsumer extends FlatConstruct {
  /** The consumer function. */
  readonly fn: AicFunction;
  /** The on-failure destination of the mapping: shard and sequence range of each failed batch. */
  readonly failedBatches: Queue;
  /** Where failed-batch records go after {@link FAILED_BATCH_MAX_RECEIVES} receives. */
  readonly failedBatchesDeadLetters: Queue;

  constructor(scope: Construct, id: string, props: MetricsConsumerProps) {
    super(scope, id);
    const { config, data, stream } = props;
    this.failedBatchesDeadLetters = this.queue(config, 'FailedBatchesDeadLetters', 'dlq');
    Validations.of(this.failedBatchesDeadLetters).acknowledge({
      id: 'Serverless-SQSRedrivePolicy',
      reason:
        'This queue is the dead-letter queue of metrics-failed-batches: the end of the line, ' +
        'read by an operator, with nowhere further to redrive to.',
    });
    this.failedBatches = this.queue(config, 'FailedBatches', '', {
      queue: this.failedBatchesDeadLetters,
      maxReceiveCount: FAILED_BATCH_MAX_RECEIVES,
    });

    this.fn = new AicFunction(this.host, 'MetricsConsumerFunction', {
      functionName: 'metricsConsumer',
      config,
      network: props.network,
      environment: data.databaseEnvironment(),
    });
    connectToData(this.fn.function, data, { redis: false });
    this.fn.function.addEventSource(
      new KinesisEventSource(stream, {
        ...CONSUMER_MAPPING,
        parallelizationFactor: config.metrics.parallelizationFactor,
        onFailure: new SqsDlq(this.failedBatches),
      }),
    );
  }

  /** One queue of the failed batches: SSE-SQS, TLS only, kept 14 days (the SQS maximum). */
  private queue(
    config: EnvironmentConfig,
    id: string,
    suffix: string,
    deadLetterQueue?: Queue['deadLetterQueue'],
  ): Queue {
    const name = ['metrics-failed-batches', suffix].filter(Boolean).join('-');
    return new Queue(this.host, id, {
      queueName: `auralink-aic-${config.name}-${name}`,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
      removalPolicy: RemovalPolicy.DESTROY,
      ...(deadLetterQueue ? { deadLetterQueue } : {}),
    });
  }
}
