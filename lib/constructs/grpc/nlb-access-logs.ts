import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import type { NetworkLoadBalancer } from 'aws-cdk-lib/aws-elasticloadbalancingv2';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { BlockPublicAccess, Bucket, BucketEncryption } from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { FlatConstruct } from '../flat-construct.ts';

/** The service that delivers NLB access logs to S3. */
const LOG_DELIVERY_SERVICE = 'delivery.logs.amazonaws.com';

/** Days a deleted or overwritten log object stays restorable as a previous version. */
export const LOG_PREVIOUS_VERSION_DAYS = 30;

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
 * Access logs of a Network Load Balancer: a private, versioned bucket encrypted with a
 * customer-managed key (rotated yearly) that expires its objects after the retention and outlives
 * the stack, a bucket and key policy that let the log delivery service of this account write under
 * the prefix, and the load balancer attributes that turn logging on.
 */
export class NlbAccessLogs extends FlatConstruct {
  /** The log bucket. */
  readonly bucket: Bucket;
  /** The bucket's encryption key. */
  readonly key: Key;

  constructor(scope: Construct, id: string, props: NlbAccessLogsProps) {
    super(scope, id);
    this.key = new Key(this.host, 'LoadBalancerAccessLogsKey', {
      description: 'AuraLink AIC gRPC load balancer access logs',
      enableKeyRotation: true,
      // The bucket outlives the stack, and its objects are unreadable without the key.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.bucket = new Bucket(this.host, 'LoadBalancerAccessLogs', {
      // NLB access logs accept SSE-S3 or a customer-managed key (not aws/s3); the key policy
      // below lets the log delivery service use it.
      encryption: BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      // Log objects are written once: a previous version exists only after a delete, which it
      // makes undoable for a while.
      versioned: true,
      lifecycleRules: [
        { id: 'expire-logs', expiration: Duration.days(props.retentionDays) },
        {
          id: 'expire-previous-versions',
          noncurrentVersionExpiration: Duration.days(LOG_PREVIOUS_VERSION_DAYS),
          expiredObjectDeleteMarker: true,
        },
      ],
      // Logs outlive the stack; the lifecycle rules empty the bucket over time.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.acknowledgeFindings();
    this.allowLogDelivery(props.prefix);
    const { loadBalancer } = props;
    loadBalancer.setAttribute('access_logs.s3.enabled', 'true');
    loadBalancer.setAttribute('access_logs.s3.bucket', this.bucket.bucketName);
    loadBalancer.setAttribute('access_logs.s3.prefix', props.prefix);
    if (this.bucket.policy) loadBalancer.node.addDependency(this.bucket.policy);
    loadBalancer.node.addDependency(this.key);
  }

  /**
   * Lets the log delivery service write under `prefix` for this account, encrypting with the key.
   * (The load balancer's logAccessLogs would need the region at synth time for the classic ELB
   * account principal.)
   */
  private allowLogDelivery(prefix: string): void {
    const stack = Stack.of(this);
    const { account } = stack;
    const sourceAccount = { 'aws:SourceAccount': account };
    this.bucket.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal(LOG_DELIVERY_SERVICE)],
        actions: ['s3:PutObject'],
        resources: [this.bucket.arnForObjects(`${prefix}/AWSLogs/${account}/*`)],
        conditions: {
          StringEquals: { 's3:x-amz-acl': 'bucket-owner-full-control', ...sourceAccount },
        },
      }),
    );
    this.bucket.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal(LOG_DELIVERY_SERVICE)],
        actions: ['s3:GetBucketAcl'],
        resources: [this.bucket.bucketArn],
        conditions: { StringEquals: sourceAccount },
      }),
    );
    this.key.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal(LOG_DELIVERY_SERVICE)],
        actions: [
          'kms:Encrypt',
          'kms:Decrypt',
          'kms:ReEncrypt*',
          'kms:GenerateDataKey*',
          'kms:DescribeKey',
        ],
        resources: ['*'],
        conditions: {
          StringEquals: sourceAccount,
          // Log deliveries of this account in this region, as the bucket policy's writes.
          ArnLike: { 'aws:SourceArn': stack.formatArn({ service: 'logs', resource: '*' }) },
        },
      }),
    );
  }

  /** The findings of the bucket, each with its reason. */
  private acknowledgeFindings(): void {
    const selfLogging =
      'This bucket is itself the access-log destination of the load balancer; logging its own ' +
      'reads would need another bucket that logs nowhere.';
    Validations.of(this.bucket).acknowledge(
      { id: 'AwsSolutions-S1', reason: selfLogging },
      { id: 'NIST.800.53.R5-S3BucketLoggingEnabled', reason: selfLogging },
      {
        id: 'NIST.800.53.R5-S3BucketReplicationEnabled',
        reason:
          'Access logs of a load balancer in this region: a region outage that loses them takes ' +
          'the load balancer they describe with it, and versioning already makes a deleted log ' +
          'object restorable; a replica would double the storage for no recovery case.',
      },
    );
  }
}
