import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import {
  InterfaceVpcEndpoint,
  InterfaceVpcEndpointAwsService,
  type ISecurityGroup,
  type IVpc,
  type SubnetSelection,
} from 'aws-cdk-lib/aws-ec2';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { Stream, StreamEncryption, StreamMode } from 'aws-cdk-lib/aws-kinesis';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../../config/environment-config.ts';
import { FlatConstruct } from '../flat-construct.ts';

/**
 * How long the stream keeps a record: the consumer's whole window to catch up after an outage, and
 * to replay a batch recorded in the failed-batches queue. 24 h is the base retention, at no extra
 * charge.
 */
export const FRAME_EVENT_RETENTION = Duration.hours(24);

/** What a service that answers frames needs to append their events to the metrics stream. */
export interface FrameEventProducerAccess {
  /** Lets `grantee` append records (`kinesis:PutRecord`, `kinesis:PutRecords`, `ListShards`). */
  grantProduce(grantee: IGrantable): void;
  /** The variables that point a producer at the stream: `METRICS_LOG`, `METRICS_STREAM_NAME`. */
  producerEnvironment(): Record<string, string>;
}

/** Where the stream's interface endpoint goes: the producers' subnets and the endpoints' group. */
export interface FrameEventStreamEndpoint {
  readonly vpc: IVpc;
  readonly subnets: SubnetSelection;
  readonly securityGroup: ISecurityGroup;
}

/** Properties of {@link FrameEventStream}. */
export interface FrameEventStreamProps {
  /** The environment it is deployed to; its `metrics.stream` sets the capacity. */
  readonly config: EnvironmentConfig;
  /** The interface endpoint through which producers in the VPC reach Kinesis. */
  readonly endpoint: FrameEventStreamEndpoint;
}

/**
 * The Kinesis data stream of frame events, partitioned by session id: provisioned shards or
 * on-demand as the environment says, 24 h retention, encrypted at rest with the AWS managed
 * `aws/kinesis` key. That key (not a customer-managed one) is what cdk-nag's KDS3 asks for, and it
 * needs no key grant: any principal of the account allowed to use the stream may use it through
 * Kinesis. Also the Kinesis interface endpoint, since the functions' security groups allow HTTPS
 * only inside the VPC.
 */
export class FrameEventStream extends FlatConstruct implements FrameEventProducerAccess {
  /** The stream. */
  readonly stream: Stream;
  /** The Kinesis Data Streams interface endpoint in the producers' subnets. */
  readonly endpoint: InterfaceVpcEndpoint;

  constructor(scope: Construct, id: string, props: FrameEventStreamProps) {
    super(scope, id);
    const { config, endpoint } = props;
    const capacity = config.metrics.stream;
    this.stream = new Stream(this.host, 'FrameEvents', {
      streamName: `auralink-aic-${config.name}-frame-events`,
      encryption: StreamEncryption.MANAGED,
      retentionPeriod: FRAME_EVENT_RETENTION,
      ...(capacity.mode === 'onDemand'
        ? { streamMode: StreamMode.ON_DEMAND }
        : { streamMode: StreamMode.PROVISIONED, shardCount: capacity.shards }),
      // Records in flight only: the totals are in Postgres and the history in the archive.
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.endpoint = new InterfaceVpcEndpoint(this.host, 'KinesisEndpoint', {
      vpc: endpoint.vpc,
      service: InterfaceVpcEndpointAwsService.KINESIS_STREAMS,
      subnets: endpoint.subnets,
      securityGroups: [endpoint.securityGroup],
      open: false,
      privateDnsEnabled: true,
    });
  }

  /** Lets `grantee` append records to the stream. */
  grantProduce(grantee: IGrantable): void {
    this.stream.grantWrite(grantee);
  }

  /** `METRICS_LOG=kinesis` and the stream's name. */
  producerEnvironment(): Record<string, string> {
    return { METRICS_LOG: 'kinesis', METRICS_STREAM_NAME: this.stream.streamName };
  }
}
