import { ArnFormat, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { CfnDatabase, type CfnTable } from 'aws-cdk-lib/aws-glue';
import { PolicyStatement, type Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IStream } from 'aws-cdk-lib/aws-kinesis';
import { CfnDeliveryStream } from 'aws-cdk-lib/aws-kinesisfirehose';
import { Key } from 'aws-cdk-lib/aws-kms';
import { LogGroup, type LogStream } from 'aws-cdk-lib/aws-logs';
import { BlockPublicAccess, Bucket, BucketEncryption, type CfnBucket } from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import type { EnvironmentConfig } from '../../config/environment-config.ts';
import { FlatConstruct } from '../flat-construct.ts';
import { logEncryptionKey } from '../security/log-encryption-key.ts';
import { ManagedPolicyRole } from '../security/managed-policy-role.ts';
import { FRAME_EVENT_PREFIX, frameEventTable } from './frame-event-table.ts';

/** Key prefix of the records Firehose could not partition, convert or deliver. */
export const FRAME_ERROR_PREFIX = 'errors/';

/**
 * Where Firehose writes: one folder per UTC day of `recorded_at` and per tenant (`user_id`), the
 * keys its dynamic partitioning extracts with {@link PARTITION_QUERY}.
 */
export const FRAME_OUTPUT_PREFIX = `${FRAME_EVENT_PREFIX}dt=!{partitionKeyFromQuery:dt}/tenant=!{partitionKeyFromQuery:tenant}/`;

/**
 * The JQ 1.6 query of the partition keys: `recorded_at` is ISO 8601 in UTC, its day the
 * first 10 characters.
 */
export const PARTITION_QUERY = '{dt: .recorded_at[0:10], tenant: .user_id}';

/**
 * Firehose's buffer per partition: the most it allows (128 MiB, at least 64 with format
 * conversion and dynamic partitioning) or 5 minutes. Every day and tenant has its own buffer, so a
 * quiet tenant's files are flushed by time. The interval also bounds the active partitions:
 * Firehose keeps 500 per stream by default (a quota that can be raised) and sends the records of
 * any further one to the error prefix, so 5 minutes allows 500 tenants sending within 5 minutes,
 * where a longer interval would write fewer, larger files for fewer tenants.
 */
export const DELIVERY_BUFFER = { sizeInMBs: 128, intervalInSeconds: 300 } as const;

/**
 * Days a deleted or overwritten object of the archive (or of its access logs) stays restorable as
 * a previous version: objects expired by the retention too, which keeps them this much longer.
 */
export const PREVIOUS_VERSION_DAYS = 30;

/** The lifecycle rule that removes previous versions, then the delete markers they leave. */
const PREVIOUS_VERSIONS_RULE = {
  id: 'expire-previous-versions',
  noncurrentVersionExpiration: Duration.days(PREVIOUS_VERSION_DAYS),
  expiredObjectDeleteMarker: true,
} as const;

/** Why the buckets are not replicated to another region. */
const NO_REPLICATION_REASON =
  'The archive is regional analytics data derived from the frame event stream, and its access ' +
  'logs describe only it; versioning makes deletes restorable, and a copy in another region ' +
  'would double the storage and add the replicated tenant data to a second region.';

/** Properties of {@link FrameArchive}. */
export interface FrameArchiveProps {
  /** The environment it is deployed to; `metrics.archiveRetentionDays` and log retention apply. */
  readonly config: EnvironmentConfig;
  /** The frame event stream Firehose reads. */
  readonly stream: IStream;
}

/**
 * The per-frame archive: a Firehose delivery stream reading the frame event stream and writing
 * Parquet (SNAPPY) to an S3 bucket, converted with the schema of a Glue table and partitioned by
 * day and tenant (dynamic partitioning); the Glue database and table, with partition projection
 * so Athena needs no crawler; the bucket (SSE-KMS with a rotated key, TLS only, no public access,
 * versioned, server access logs to a bucket of its own, objects expired after the retention and
 * their previous versions {@link PREVIOUS_VERSION_DAYS} later); Firehose's error log group
 * (encrypted with the stack's log key); and its role, whose one managed policy may read only this
 * stream, write only these prefixes, read only this table and use the key only through S3.
 *
 * Built on the L1 delivery stream: the L2 `DeliveryStream` would also grant its role object
 * deletes on the bucket (`grantReadWrite`) and `glue:GetSchemaVersion` on every resource.
 */
export class FrameArchive extends FlatConstruct {
  /** The archive bucket. */
  readonly bucket: Bucket;
  /** The bucket of the archive bucket's server access logs. */
  readonly accessLogs: Bucket;
  /** The archive's encryption key. */
  readonly key: Key;
  /** The Glue database. */
  readonly database: CfnDatabase;
  /** The Glue table of the frame events. */
  readonly table: CfnTable;
  /** The Firehose delivery stream. */
  readonly deliveryStream: CfnDeliveryStream;
  /** The role Firehose assumes. */
  readonly role: Role;
  /** Firehose's error log group. */
  readonly logGroup: LogGroup;

  private readonly logStream: LogStream;

  constructor(scope: Construct, id: string, props: FrameArchiveProps) {
    super(scope, id);
    const { config } = props;
    this.key = new Key(this.host, 'FrameArchiveKey', {
      description: `AuraLink AIC frame archive (${config.name})`,
      enableKeyRotation: true,
      // The bucket outlives the stack, and its objects are unreadable without the key.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.accessLogs = this.createAccessLogsBucket(config);
    this.bucket = this.createBucket(config);
    this.database = new CfnDatabase(this.host, 'FrameArchiveDatabase', {
      catalogId: Stack.of(this.host).account,
      databaseInput: {
        name: `auralink_aic_${config.name}`,
        description: `AuraLink AIC archive of answered frames (${config.name})`,
      },
    });
    this.table = frameEventTable(this.host, 'FrameEventsTable', {
      databaseName: this.database.ref,
      tableName: 'frame_events',
      bucket: this.bucket,
      retentionDays: config.metrics.archiveRetentionDays,
    });
    this.logGroup = new LogGroup(this.host, 'FrameArchiveDeliveryLogs', {
      logGroupName: `/auralink/aic/${config.name}/firehose/frame-archive`,
      retention: config.logRetentionDays,
      // Firehose writes through CloudWatch Logs, which encrypts with the key itself.
      encryptionKey: logEncryptionKey(this.host, config),
      removalPolicy: config.retainOnDelete ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
    });
    this.logStream = this.logGroup.addStream('S3Delivery', { logStreamName: 'S3Delivery' });
    this.role = this.createRole(props);
    this.deliveryStream = this.createDeliveryStream(props);
  }

  /**
   * Server access logs of the archive: SSE-S3 (the only default encryption S3 server access
   * logging supports in its destination), versioned.
   */
  private createAccessLogsBucket(config: EnvironmentConfig): Bucket {
    const bucket = new Bucket(this.host, 'FrameArchiveAccessLogs', {
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      // Log objects are written once: a previous version exists only after a delete, which it
      // makes undoable for a while.
      versioned: true,
      lifecycleRules: [
        { id: 'expire-logs', expiration: Duration.days(config.logRetentionDays) },
        PREVIOUS_VERSIONS_RULE,
      ],
      // Logs outlive the stack; the lifecycle rules empty the bucket over time.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(bucket).acknowledge(
      {
        id: 'AwsSolutions-S1',
        reason:
          'This bucket is itself the server access log destination of the frame archive; ' +
          'logging its own reads would need another bucket that logs nowhere.',
      },
      {
        id: 'NIST.800.53.R5-S3DefaultEncryptionKMS',
        reason:
          'S3 server access logging delivers only to a destination whose default encryption is ' +
          'SSE-S3 (Amazon S3 user guide, enabling server access logging); the logs hold request ' +
          'metadata, not the archived frames, which the archive key encrypts.',
      },
      { id: 'NIST.800.53.R5-S3BucketReplicationEnabled', reason: NO_REPLICATION_REASON },
    );
    return bucket;
  }

  /**
   * The archive: SSE-KMS with S3 Bucket Keys, versioned, expired after the retention and its
   * previous versions {@link PREVIOUS_VERSION_DAYS} later.
   */
  private createBucket(config: EnvironmentConfig): Bucket {
    const retention = config.metrics.archiveRetentionDays;
    const bucket = new Bucket(this.host, 'FrameArchive', {
      encryption: BucketEncryption.KMS,
      encryptionKey: this.key,
      // One data key per bucket and period instead of one KMS request per object.
      bucketKeyEnabled: true,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'frame-archive/',
      // A delete or overwrite (an operator's mistake, a compromised writer) stays undoable.
      versioned: true,
      lifecycleRules: [
        {
          id: 'expire-frames',
          expiration: Duration.days(retention),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
        // Failed records are for diagnosis; a month is enough to look at them.
        {
          id: 'expire-errors',
          prefix: FRAME_ERROR_PREFIX,
          expiration: Duration.days(Math.min(retention, 30)),
        },
        PREVIOUS_VERSIONS_RULE,
      ],
      // The archive is the per-frame history: it outlives the stack in every environment.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(bucket).acknowledge({
      id: 'NIST.800.53.R5-S3BucketReplicationEnabled',
      reason: NO_REPLICATION_REASON,
    });
    return bucket;
  }

  /** Firehose's role: read the stream, write the prefixes, read the table, log its errors. */
  private createRole({ stream }: FrameArchiveProps): Role {
    const stack = Stack.of(this.host);
    const role = new ManagedPolicyRole(this.host, 'FrameArchiveDeliveryRole', {
      assumedBy: new ServicePrincipal('firehose.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: 'Firehose delivery of the frame event stream to the Parquet archive',
    });
    const statements = [
      new PolicyStatement({
        actions: [
          'kinesis:DescribeStream',
          'kinesis:GetShardIterator',
          'kinesis:GetRecords',
          'kinesis:ListShards',
        ],
        resources: [stream.streamArn],
      }),
      new PolicyStatement({
        actions: ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'],
        resources: [this.bucket.bucketArn],
      }),
      new PolicyStatement({
        actions: ['s3:AbortMultipartUpload', 's3:GetObject', 's3:PutObject'],
        resources: this.objectPrefixes().map((prefix) => this.bucket.arnForObjects(`${prefix}*`)),
      }),
      new PolicyStatement({
        actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
        resources: [this.key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `s3.${stack.region}.amazonaws.com` } },
      }),
      new PolicyStatement({
        actions: ['glue:GetTable', 'glue:GetTableVersion', 'glue:GetTableVersions'],
        resources: this.catalogArns(),
      }),
      new PolicyStatement({ actions: ['logs:PutLogEvents'], resources: [this.logStreamArn()] }),
    ];
    for (const statement of statements) role.addToPolicy(statement);
    this.acknowledgeObjectWildcards(role);
    return role;
  }

  /** The key prefixes Firehose writes: the partitions and the failed records. */
  private objectPrefixes(): string[] {
    return [FRAME_EVENT_PREFIX, FRAME_ERROR_PREFIX];
  }

  /** The Data Catalog, the database and the table: what `glue:GetTable` is checked against. */
  private catalogArns(): string[] {
    const stack = Stack.of(this.host);
    const databaseName = this.database.ref;
    return [
      stack.formatArn({ service: 'glue', resource: 'catalog' }),
      stack.formatArn({ service: 'glue', resource: 'database', resourceName: databaseName }),
      stack.formatArn({
        service: 'glue',
        resource: 'table',
        resourceName: `${databaseName}/${this.table.ref}`,
      }),
    ];
  }

  /** The ARN of Firehose's log stream (`PutLogEvents` is checked against the stream). */
  private logStreamArn(): string {
    return Stack.of(this.host).formatArn({
      service: 'logs',
      resource: 'log-group',
      resourceName: `${this.logGroup.logGroupName}:log-stream:${this.logStream.logStreamName}`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
  }

  /** The object ARNs of the two prefixes end in `*`: one object per Firehose write. */
  private acknowledgeObjectWildcards(role: Role): void {
    const policy = role.node.tryFindChild('Policy');
    if (!policy) return;
    const bucketId = Stack.of(this.host).resolve(
      (this.bucket.node.defaultChild as CfnBucket).logicalId,
    );
    Validations.of(policy).acknowledge(
      ...this.objectPrefixes().map((prefix) => ({
        id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${prefix}*]`,
        reason:
          'Firehose names each object it writes (by partition, time and a random suffix), so ' +
          'PutObject is granted on the prefix it writes to; the bucket and key are this ' +
          "archive's only.",
      })),
    );
  }

  /** The delivery stream: Kinesis source, Parquet conversion, dynamic partitioning. */
  private createDeliveryStream({ config, stream }: FrameArchiveProps): CfnDeliveryStream {
    const roleArn = this.role.roleArn;
    const deliveryStream = new CfnDeliveryStream(this.host, 'FrameArchiveDelivery', {
      deliveryStreamName: `auralink-aic-${config.name}-frame-archive`,
      deliveryStreamType: 'KinesisStreamAsSource',
      kinesisStreamSourceConfiguration: { kinesisStreamArn: stream.streamArn, roleArn },
      extendedS3DestinationConfiguration: {
        bucketArn: this.bucket.bucketArn,
        roleArn,
        prefix: FRAME_OUTPUT_PREFIX,
        errorOutputPrefix: `${FRAME_ERROR_PREFIX}!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/`,
        bufferingHints: DELIVERY_BUFFER,
        // Parquet compresses its pages itself (SNAPPY below); the file is not compressed again.
        compressionFormat: 'UNCOMPRESSED',
        encryptionConfiguration: { kmsEncryptionConfig: { awskmsKeyArn: this.key.keyArn } },
        cloudWatchLoggingOptions: {
          enabled: true,
          logGroupName: this.logGroup.logGroupName,
          logStreamName: this.logStream.logStreamName,
        },
        dataFormatConversionConfiguration: this.formatConversion(),
        dynamicPartitioningConfiguration: {
          enabled: true,
          retryOptions: { durationInSeconds: 300 },
        },
        processingConfiguration: {
          enabled: true,
          processors: [
            {
              type: 'MetadataExtraction',
              parameters: [
                { parameterName: 'MetadataExtractionQuery', parameterValue: PARTITION_QUERY },
                { parameterName: 'JsonParsingEngine', parameterValue: 'JQ-1.6' },
              ],
            },
          ],
        },
      },
    });
    // Firehose checks its role's permissions and the table when the stream is created.
    deliveryStream.node.addDependency(this.role, this.table, this.logStream);
    Validations.of(deliveryStream).acknowledge({
      id: 'AwsSolutions-KDF1',
      reason:
        'Firehose server-side encryption applies only to Direct PUT streams: with a Kinesis data ' +
        'stream as the source, the records at rest are in that stream, encrypted with the ' +
        'aws/kinesis key, and the Parquet objects are encrypted with the archive key.',
    });
    return deliveryStream;
  }

  /** JSON to Parquet by the table: the OpenX SerDe parses `recorded_at`'s ISO 8601 `Z` form. */
  private formatConversion(): CfnDeliveryStream.DataFormatConversionConfigurationProperty {
    const stack = Stack.of(this.host);
    return {
      enabled: true,
      schemaConfiguration: {
        catalogId: stack.account,
        region: stack.region,
        databaseName: this.database.ref,
        tableName: this.table.ref,
        roleArn: this.role.roleArn,
        versionId: 'LATEST',
      },
      inputFormatConfiguration: { deserializer: { openXJsonSerDe: {} } },
      outputFormatConfiguration: { serializer: { parquetSerDe: { compression: 'SNAPPY' } } },
    };
  }
}
