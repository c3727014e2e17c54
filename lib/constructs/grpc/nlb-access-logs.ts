import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { NetworkLoadBalancer } from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { BlockPublicAccess, Bucket, BucketEncryption } from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { FlatConstruct } from '../flat-construct.ts';

/** The service that delivers NLB access logs to S3. */
const LOG_DELIVERY_SERVICE = 'delivery.logs.amazonaws.com';

/** Properties of {@link NlbAccessLogs}. */
export interface NlbAccessLogsProps {
  /** The load balancer whose access logs to keep. */
  readonly loadBalancer: NetworkLoadBalancer;
  /** Days a log object is kept. */
  readonly retentionDays: number;
  /** Key prefix of the log objects in the bucket. */
  readonly prefix: string;
}

/**
 * Access logs of a Network Load Balancer: an encrypted, private bucket that expires its objects
 * after the retention and outlives the stack, a bucket policy that lets the log delivery service
 * of this account write under the prefix, and the load balancer attributes that turn logging on.
 */
export class NlbAccessLogs extends FlatConstruct {
  /** The log bucket. */
  readonly bucket: Bucket;

  constructor(scope: Construct, id: string, props: NlbAccessLogsProps) {
    super(scope, id);
    this.bucket = new Bucket(this.host, 'LoadBalancerAccessLogs', {
      // NLB access logs support SSE-S3 only.
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      lifecycleRules: [{ expiration: Duration.days(props.retentionDays) }],
      // Logs outlive the stack; the lifecycle rule empties the bucket over time.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.bucket).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'This bucket is itself the access-log destination of the load balancer; logging its own ' +
        'reads would need another bucket that logs nowhere.',
    });
    this.allowLogDelivery(props.prefix);
    const { loadBalancer } = props;
    loadBalancer.setAttribute('access_logs.s3.enabled', 'true');
    loadBalancer.setAttribute('access_logs.s3.bucket', this.bucket.bucketName);
    loadBalancer.setAttribute('access_logs.s3.prefix', props.prefix);
    if (this.bucket.policy) loadBalancer.node.addDependency(this.bucket.policy);
  }

  /**
   * Lets the log delivery service write under `prefix` for this account. (The load balancer's
   * logAccessLogs would need the region at synth time for the classic ELB account principal.)
   */
  private allowLogDelivery(prefix: string): void {
    const { account } = Stack.of(this);
    this.bucket.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal(LOG_DELIVERY_SERVICE)],
        actions: ['s3:PutObject'],
        resources: [this.bucket.arnForObjects(`${prefix}/AWSLogs/${account}/*`)],
        conditions: {
          StringEquals: {
            's3:x-amz-acl': 'bucket-owner-full-control',
            'aws:SourceAccount': account,
          },
        },
      }),
    );
    this.bucket.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal(LOG_DELIVERY_SERVICE)],
        actions: ['s3:GetBucketAcl'],
        resources: [this.bucket.bucketArn],
        conditions: { StringEquals: { 'aws:SourceAccount': account } },
      }),
    );
  }
}
