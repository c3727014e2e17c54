import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../config/environment-config.ts';
import { FrameArchive } from '../constructs/metrics/frame-archive.ts';
import {
  type FrameEventProducerAccess,
  FrameEventStream,
} from '../constructs/metrics/frame-event-stream.ts';
import { MetricsConsumer } from '../constructs/metrics/metrics-consumer.ts';
import type { DataStack } from './data-stack.ts';
import { type NetworkStack, SUBNET_GROUPS } from './network-stack.ts';

/** Properties of {@link MetricsStack}. */
export interface MetricsStackProps extends StackProps {
  /** The environment it is deployed to. */
  readonly config: EnvironmentConfig;
  /** The environment's network: the consumer's subnets and the Kinesis endpoint's. */
  readonly network: NetworkStack;
  /** Postgres, which the consumer writes. */
  readonly data: DataStack;
}

/**
 * The metrics path of one environment: the Kinesis data stream every answered frame's event is
 * appended to (by the compress function and the gRPC tasks, partitioned by session), its
 * interface endpoint, the consumer that adds the events to Postgres (with the queue of the batches
 * it gave up on), and the Firehose archive of every event as Parquet in S3 with its Glue table.
 * Deployed after the data stack and before the API and gRPC stacks, which produce to it; its
 * alarms are in the observability stack, on the service's alarm topic.
 */
export class MetricsStack extends Stack implements FrameEventProducerAccess {
  /** The frame event stream and its interface endpoint. */
  readonly stream: FrameEventStream;
  /** The consumer function, its event source mapping and the failed-batches queues. */
  readonly consumer: MetricsConsumer;
  /** The Parquet archive: Firehose, S3, Glue. */
  readonly archive: FrameArchive;

  constructor(scope: Construct, id: string, props: MetricsStackProps) {
    super(scope, id, props);
    const { config, network, data } = props;
    const subnets = { subnetGroupName: SUBNET_GROUPS.app };
    this.stream = new FrameEventStream(this, 'Stream', {
      config,
      endpoint: { vpc: network.vpc, subnets, securityGroup: network.endpointsSecurityGroup },
    });
    this.consumer = new MetricsConsumer(this, 'Consumer', {
      config,
      network: { vpc: network.vpc, subnets },
      data,
      stream: this.stream.stream,
    });
    this.archive = new FrameArchive(this, 'Archive', { config, stream: this.stream.stream });

    new CfnOutput(this, 'FrameEventStreamName', {
      description: 'Kinesis data stream of the frame events (METRICS_STREAM_NAME)',
      value: this.stream.stream.streamName,
    });
    new CfnOutput(this, 'FrameArchiveBucketName', {
      description: 'S3 bucket of the Parquet frame archive (frames/dt=<day>/tenant=<user>/)',
      value: this.archive.bucket.bucketName,
    });
    new CfnOutput(this, 'FailedBatchesQueueUrl', {
      description: 'SQS queue of the consumer batches given up on (shard and sequence ranges)',
      value: this.consumer.failedBatches.queueUrl,
    });
  }

  /** Lets `grantee` append frame events to the stream. */
  grantProduce(grantee: IGrantable): void {
    this.stream.grantProduce(grantee);
  }

  /** `METRICS_LOG=kinesis` and the stream's name. */
  producerEnvironment(): Record<string, string> {
    return this.stream.producerEnvironment();
  }
}
