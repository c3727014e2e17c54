import { type CfnResource, type Stack, Validations } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { beforeAll, describe, expect, it } from 'vitest';
import { frameEventSchema } from '../../functions/core/contracts/frame-event.ts';
import { FUNCTION_ENTRIES, type FunctionName } from '../../functions/core/contracts/routes.ts';
import { settingsSchema } from '../../functions/platform/settings.ts';
import {
  ENVIRONMENT_NAMES,
  ENVIRONMENTS_CONTEXT_KEY,
  type EnvironmentConfig,
  type EnvironmentName,
  loadEnvironmentConfigs,
  parseEnvironmentConfigs,
} from '../../lib/config/environment-config.ts';
import { FUNCTION_SIZING } from '../../lib/config/function-sizing.ts';
import { PROXY_PORT } from '../../lib/constructs/data/postgres-database.ts';
import { FRAME_EVENT_PRODUCERS } from '../../lib/stacks/api-stack.ts';
import {
  cdkJsonContext,
  logicalId,
  type Resources,
  type SynthesizedApp,
  securityGroupRules,
  synthAicApp,
} from './app-fixture.ts';

let synthesized: SynthesizedApp;
let configs: Record<EnvironmentName, EnvironmentConfig>;
let metricsTemplates: Record<EnvironmentName, Template>;

beforeAll(() => {
  synthesized = synthAicApp();
  configs = loadEnvironmentConfigs(synthesized.app);
  metricsTemplates = Object.fromEntries(
    ENVIRONMENT_NAMES.map((env) => [env, Template.fromStack(synthesized.stages[env].metrics)]),
  ) as Record<EnvironmentName, Template>;
});

const template = (env: EnvironmentName) => metricsTemplates[env];

/** Logical id of a construct's L1 resource. */
const idOf = (construct: IConstruct) => logicalId(construct.node.defaultChild as CfnResource);

function only(env: EnvironmentName, type: string): Resources[string] {
  const resources = Object.values(template(env).findResources(type) as Resources);
  expect(resources, type).toHaveLength(1);
  return resources[0] as Resources[string];
}

/** The statements of the managed policy attached to the role with logical id `roleId`. */
function policyStatements(
  stackTemplate: Template,
  roleId: string,
): { Action: string | string[]; Resource: unknown; Condition?: unknown }[] {
  const policies = stackTemplate.findResources('AWS::IAM::ManagedPolicy') as Resources;
  const policy = Object.values(policies).find(
    (candidate) => JSON.stringify(candidate.Properties.Roles) === JSON.stringify([{ Ref: roleId }]),
  );
  expect(policy, roleId).toBeDefined();
  const document = policy?.Properties.PolicyDocument as {
    Statement: { Action: string | string[]; Resource: unknown; Condition?: unknown }[];
  };
  return document.Statement;
}

const actionsOf = (statements: { Action: string | string[] }[]) =>
  statements.flatMap((statement) => [statement.Action].flat()).sort();

describe('the metrics stack: the frame event stream', () => {
  it('keeps frame events 24 h in a stream encrypted with aws/kinesis, sized by the environment', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const capacity = configs[env].metrics.stream;
      const stream = only(env, 'AWS::Kinesis::Stream').Properties;
      expect(stream).toMatchObject({
        Name: `auralink-aic-${env}-frame-events`,
        RetentionPeriodHours: 24,
        StreamEncryption: { EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' },
        StreamModeDetails: {
          StreamMode: capacity.mode === 'onDemand' ? 'ON_DEMAND' : 'PROVISIONED',
        },
      });
      expect(stream.ShardCount).toBe(capacity.mode === 'onDemand' ? undefined : capacity.shards);
    }
    expect(configs.dev.metrics.stream).toEqual({ mode: 'provisioned', shards: 1 });
    expect(configs.prod.metrics.stream).toEqual({ mode: 'onDemand' });
  });

  it('is reached from the application subnets through a private Kinesis interface endpoint', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const endpoint = only(env, 'AWS::EC2::VPCEndpoint').Properties;
      expect(JSON.stringify(endpoint.ServiceName)).toContain('.kinesis-streams');
      expect(endpoint).toMatchObject({ VpcEndpointType: 'Interface', PrivateDnsEnabled: true });
      expect(JSON.stringify(endpoint.SubnetIds)).toMatch(/VpcappSubnet1.*VpcappSubnet2/);
      expect(JSON.stringify(endpoint.SecurityGroupIds)).toContain('EndpointsSecurityGroup');
    }
  });

  it('is deployed after the network and data stacks and before its producers', () => {
    const { metrics, api, grpc, observability } = synthesized.stages.dev;
    const ids = (stack: Stack) => stack.dependencies.map((d) => d.node.id);
    expect(ids(metrics).sort()).toEqual(['Data', 'Network']);
    expect(ids(api)).toContain('Metrics');
    expect(ids(grpc)).toContain('Metrics');
    expect(ids(observability)).toContain('Metrics');
  });
});

describe('the metrics stack: the consumer', () => {
  it('maps the stream to the consumer in 1 s batches of 500, bisecting and reporting partial failures', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const { consumer, stream } = synthesized.stages[env].metrics;
      template(env).hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: { 'Fn::GetAtt': [idOf(stream.stream), 'Arn'] },
        FunctionName: { Ref: idOf(consumer.fn.function) },
        StartingPosition: 'TRIM_HORIZON',
        BatchSize: 500,
        MaximumBatchingWindowInSeconds: 1,
        BisectBatchOnFunctionError: true,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        MaximumRetryAttempts: 10,
        MaximumRecordAgeInSeconds: 6 * 3600,
        ParallelizationFactor: configs[env].metrics.parallelizationFactor,
        DestinationConfig: {
          OnFailure: { Destination: { 'Fn::GetAtt': [idOf(consumer.failedBatches), 'Arn'] } },
        },
      });
    }
  });

  it('records failed batches in an SSE, TLS-only queue with a dead-letter queue of its own', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const { consumer } = synthesized.stages[env].metrics;
      const queues = template(env).findResources('AWS::SQS::Queue') as Resources;
      expect(queues[idOf(consumer.failedBatches)]?.Properties).toMatchObject({
        QueueName: `auralink-aic-${env}-metrics-failed-batches`,
        SqsManagedSseEnabled: true,
        MessageRetentionPeriod: 14 * 86_400,
        RedrivePolicy: {
          deadLetterTargetArn: {
            'Fn::GetAtt': [idOf(consumer.failedBatchesDeadLetters), 'Arn'],
          },
          maxReceiveCount: 5,
        },
      });
      expect(queues[idOf(consumer.failedBatchesDeadLetters)]?.Properties).toMatchObject({
        QueueName: `auralink-aic-${env}-metrics-failed-batches-dlq`,
        SqsManagedSseEnabled: true,
      });
      for (const queue of [consumer.failedBatches, consumer.failedBatchesDeadLetters]) {
        template(env).hasResourceProperties('AWS::SQS::QueuePolicy', {
          Queues: [{ Ref: idOf(queue) }],
          PolicyDocument: {
            Statement: Match.arrayWith([
              Match.objectLike({
                Effect: 'Deny',
                Condition: { Bool: { 'aws:SecureTransport': 'false' } },
              }),
            ]),
          },
        });
      }
    }
  });

  it('runs the consumer in the application subnets, on Postgres through RDS Proxy and without Redis', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const { consumer } = synthesized.stages[env].metrics;
      const functions = template(env).findResources('AWS::Lambda::Function') as Resources;
      expect(Object.keys(functions)).toEqual([idOf(consumer.fn.function)]);
      const props = functions[idOf(consumer.fn.function)]?.Properties ?? {};
      expect(props).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        MemorySize: FUNCTION_SIZING.metricsConsumer.memoryMiB,
        Timeout: FUNCTION_SIZING.metricsConsumer.timeoutSeconds,
        TracingConfig: { Mode: 'Active' },
      });
      expect(props.ReservedConcurrentExecutions).toBe(
        configs[env].lambda.reservedConcurrency.metricsConsumer,
      );
      const vpc = props.VpcConfig as { SubnetIds: unknown[]; SecurityGroupIds: unknown[] };
      expect(JSON.stringify(vpc.SubnetIds)).toMatch(/VpcappSubnet1.*VpcappSubnet2/);
      const variables = (props.Environment as { Variables: Record<string, unknown> }).Variables;
      expect(variables).toMatchObject({
        DB_IAM_AUTH: 'true',
        DB_USER: 'aic_app',
        DB_PORT: '5432',
        DB_NAME: 'auralink',
      });
      expect(Object.keys(variables).filter((name) => /REDIS|METRICS_STREAM/.test(name))).toEqual(
        [],
      );
      const groupId = (vpc.SecurityGroupIds[0] as { 'Fn::GetAtt': [string, string] })[
        'Fn::GetAtt'
      ][0];
      const egress = securityGroupRules(template(env), groupId, 'egress');
      expect(egress.map((rule) => rule.ToPort).sort()).toEqual([443, PROXY_PORT].sort());
      const statements = policyStatements(
        template(env),
        idOf(consumer.fn.function.role as IConstruct),
      );
      const connect = statements.filter((statement) => statement.Action === 'rds-db:connect');
      expect(connect).toHaveLength(1);
      expect(JSON.stringify(connect[0]?.Resource)).toMatch(
        /:dbuser:.*DBProxyArn.*\/aic_app"\]\]\}$/,
      );
      expect(actionsOf(statements)).not.toContain('elasticache:Connect');
      expect(actionsOf(statements)).not.toContain('secretsmanager:GetSecretValue');
      expect(actionsOf(statements)).toContain('sqs:SendMessage');
    }
  });
});

describe('the metrics stack: the Parquet archive', () => {
  it('converts the stream to Parquet by the Glue table and partitions it by day and tenant', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const { archive, stream } = synthesized.stages[env].metrics;
      const roleArn = { 'Fn::GetAtt': [idOf(archive.role), 'Arn'] };
      const delivery = only(env, 'AWS::KinesisFirehose::DeliveryStream').Properties;
      expect(delivery).toMatchObject({
        DeliveryStreamName: `auralink-aic-${env}-frame-archive`,
        DeliveryStreamType: 'KinesisStreamAsSource',
        KinesisStreamSourceConfiguration: {
          KinesisStreamARN: { 'Fn::GetAtt': [idOf(stream.stream), 'Arn'] },
          RoleARN: roleArn,
        },
      });
      const s3 = delivery.ExtendedS3DestinationConfiguration as Record<string, unknown>;
      expect(s3).toMatchObject({
        BucketARN: { 'Fn::GetAtt': [idOf(archive.bucket), 'Arn'] },
        Prefix: 'frames/dt=!{partitionKeyFromQuery:dt}/tenant=!{partitionKeyFromQuery:tenant}/',
        ErrorOutputPrefix: 'errors/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/',
        CompressionFormat: 'UNCOMPRESSED',
        DynamicPartitioningConfiguration: { Enabled: true },
        DataFormatConversionConfiguration: {
          Enabled: true,
          InputFormatConfiguration: { Deserializer: { OpenXJsonSerDe: {} } },
          OutputFormatConfiguration: { Serializer: { ParquetSerDe: { Compression: 'SNAPPY' } } },
          SchemaConfiguration: {
            DatabaseName: { Ref: logicalId(archive.database) },
            TableName: { Ref: logicalId(archive.table) },
            RoleARN: roleArn,
            VersionId: 'LATEST',
          },
        },
        ProcessingConfiguration: {
          Enabled: true,
          Processors: [
            {
              Type: 'MetadataExtraction',
              Parameters: [
                {
                  ParameterName: 'MetadataExtractionQuery',
                  ParameterValue: '{dt: .recorded_at[0:10], tenant: .user_id}',
                },
                { ParameterName: 'JsonParsingEngine', ParameterValue: 'JQ-1.6' },
              ],
            },
          ],
        },
        EncryptionConfiguration: {
          KMSEncryptionConfig: { AWSKMSKeyARN: { 'Fn::GetAtt': [idOf(archive.key), 'Arn'] } },
        },
        CloudWatchLoggingOptions: { Enabled: true },
      });
      // Format conversion and dynamic partitioning need a buffer of at least 64 MiB.
      const hints = s3.BufferingHints as { SizeInMBs: number; IntervalInSeconds: number };
      expect(hints.SizeInMBs).toBeGreaterThanOrEqual(64);
      expect(hints.IntervalInSeconds).toBeGreaterThanOrEqual(60);
    }
  });

  it('describes every frame event field as a Glue column, with dt and tenant projected', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const { archive } = synthesized.stages[env].metrics;
      expect(only(env, 'AWS::Glue::Database').Properties).toMatchObject({
        DatabaseInput: { Name: `auralink_aic_${env}` },
      });
      const input = only(env, 'AWS::Glue::Table').Properties.TableInput as {
        Name: string;
        Parameters: Record<string, unknown>;
        PartitionKeys: { Name: string; Type: string }[];
        StorageDescriptor: Record<string, unknown> & { Columns: { Name: string; Type: string }[] };
      };
      expect(input.Name).toBe('frame_events');
      expect(input.StorageDescriptor.Columns.map((column) => column.Name)).toEqual(
        Object.keys(frameEventSchema.shape),
      );
      const types = Object.fromEntries(
        input.StorageDescriptor.Columns.map((c) => [c.Name, c.Type]),
      );
      expect(types).toMatchObject({
        event_id: 'string',
        user_id: 'string',
        session_id: 'string',
        recorded_at: 'timestamp',
        frame_number: 'bigint',
        original_bytes: 'bigint',
        compression_ratio: 'double',
        within_budget: 'boolean',
      });
      expect(input.StorageDescriptor.SerdeInfo).toEqual({
        SerializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
      });
      expect(input.PartitionKeys).toEqual([
        { Name: 'dt', Type: 'string' },
        { Name: 'tenant', Type: 'string' },
      ]);
      expect(input.Parameters).toMatchObject({
        'projection.enabled': 'true',
        'projection.dt.type': 'date',
        'projection.dt.format': 'yyyy-MM-dd',
        'projection.dt.range': `NOW-${configs[env].metrics.archiveRetentionDays}DAYS,NOW`,
        'projection.tenant.type': 'injected',
      });
      expect(JSON.stringify(input.Parameters['storage.location.template'])).toContain(
        `/frames/dt=\${dt}/tenant=\${tenant}/`,
      );
      expect(JSON.stringify(input.StorageDescriptor.Location)).toContain(idOf(archive.bucket));
    }
  });

  it('keeps the archive encrypted with its rotated key, private, TLS-only, logged and expiring', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const { archive } = synthesized.stages[env].metrics;
      const buckets = template(env).findResources('AWS::S3::Bucket') as Resources;
      const bucket = buckets[idOf(archive.bucket)];
      expect(bucket?.DeletionPolicy).toBe('Retain');
      expect(bucket?.Properties).toMatchObject({
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            {
              BucketKeyEnabled: true,
              ServerSideEncryptionByDefault: {
                SSEAlgorithm: 'aws:kms',
                KMSMasterKeyID: { 'Fn::GetAtt': [idOf(archive.key), 'Arn'] },
              },
            },
          ],
        },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        LoggingConfiguration: { DestinationBucketName: { Ref: idOf(archive.accessLogs) } },
        LifecycleConfiguration: {
          Rules: expect.arrayContaining([
            expect.objectContaining({
              Id: 'expire-frames',
              ExpirationInDays: configs[env].metrics.archiveRetentionDays,
            }),
          ]),
        },
      });
      template(env).hasResourceProperties('AWS::KMS::Key', { EnableKeyRotation: true });
      for (const target of [archive.bucket, archive.accessLogs]) {
        template(env).hasResourceProperties('AWS::S3::BucketPolicy', {
          Bucket: { Ref: idOf(target) },
          PolicyDocument: {
            Statement: Match.arrayWith([
              Match.objectLike({
                Effect: 'Deny',
                Condition: { Bool: { 'aws:SecureTransport': 'false' } },
              }),
            ]),
          },
        });
      }
      // Access logs are delivered under a bucket policy, not a legacy ACL.
      expect(buckets[idOf(archive.accessLogs)]?.Properties.AccessControl).toBeUndefined();
    }
  });

  it('versions the archive and its access logs, expiring previous versions after 30 days', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const { archive } = synthesized.stages[env].metrics;
      const buckets = template(env).findResources('AWS::S3::Bucket') as Resources;
      for (const bucket of [archive.bucket, archive.accessLogs]) {
        const properties = buckets[idOf(bucket)]?.Properties;
        expect(properties?.VersioningConfiguration, bucket.node.path).toEqual({
          Status: 'Enabled',
        });
        const lifecycle = properties?.LifecycleConfiguration as { Rules: unknown[] } | undefined;
        expect(lifecycle?.Rules, bucket.node.path).toContainEqual({
          Id: 'expire-previous-versions',
          NoncurrentVersionExpiration: { NoncurrentDays: 30 },
          ExpiredObjectDeleteMarker: true,
          Status: 'Enabled',
        });
      }
    }
  });

  it('lets Firehose read only the stream, write only its prefixes, read only its table', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const { archive } = synthesized.stages[env].metrics;
      const statements = policyStatements(template(env), idOf(archive.role));
      expect(actionsOf(statements)).toEqual(
        [
          'glue:GetTable',
          'glue:GetTableVersion',
          'glue:GetTableVersions',
          'kinesis:DescribeStream',
          'kinesis:GetRecords',
          'kinesis:GetShardIterator',
          'kinesis:ListShards',
          'kms:Decrypt',
          'kms:GenerateDataKey',
          'logs:PutLogEvents',
          's3:AbortMultipartUpload',
          's3:GetBucketLocation',
          's3:GetObject',
          's3:ListBucket',
          's3:ListBucketMultipartUploads',
          's3:PutObject',
        ].sort(),
      );
      for (const statement of statements) {
        expect(statement.Resource, JSON.stringify(statement.Action)).not.toBe('*');
      }
      const text = JSON.stringify(statements);
      expect(text).toContain('/frames/*');
      expect(text).toContain('/errors/*');
      expect(text).toContain('"kms:ViaService"');
    }
  });
});

describe('the producers of frame events', () => {
  it('lets the compress function append to the stream and names the stream in its environment', () => {
    expect(FRAME_EVENT_PRODUCERS).toEqual(['compress']);
    for (const env of ENVIRONMENT_NAMES) {
      const { api } = synthesized.stages[env];
      const apiTemplate = synthesized.templates[env].api;
      const functions = apiTemplate.findResources('AWS::Lambda::Function') as Resources;
      for (const name of Object.keys(FUNCTION_ENTRIES) as FunctionName[]) {
        const fn = api.functions[name].function;
        const environment = functions[idOf(fn)]?.Properties.Environment as
          | { Variables: Record<string, unknown> }
          | undefined;
        const variables = environment?.Variables ?? {};
        const statements = policyStatements(apiTemplate, idOf(fn.role as IConstruct));
        const producer = FRAME_EVENT_PRODUCERS.includes(name);
        expect(variables.METRICS_LOG, name).toBe(producer ? 'kinesis' : undefined);
        expect(JSON.stringify(variables.METRICS_STREAM_NAME ?? null), name).toMatch(
          producer ? /Fn::ImportValue.*FrameEvents/ : /^null$/,
        );
        expect(actionsOf(statements).includes('kinesis:PutRecords'), name).toBe(producer);
      }
    }
  });

  it('lets the gRPC task append to the stream, batching its streams every 5 ms', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const { grpc } = synthesized.stages[env];
      const grpcTemplate = synthesized.templates[env].grpc;
      const task = Object.values(
        grpcTemplate.findResources('AWS::ECS::TaskDefinition') as Resources,
      )[0];
      const containers = task?.Properties.ContainerDefinitions as {
        Environment: { Name: string; Value: unknown }[];
      }[];
      const variables = Object.fromEntries(
        (containers[0]?.Environment ?? []).map((e) => [e.Name, e.Value]),
      );
      expect(variables).toMatchObject({ METRICS_LOG: 'kinesis', METRICS_BATCH_LINGER_MS: '5' });
      expect(JSON.stringify(variables.METRICS_STREAM_NAME)).toMatch(/Fn::ImportValue.*FrameEvents/);
      const statements = policyStatements(grpcTemplate, idOf(grpc.taskDefinition.taskRole));
      const put = statements.find((s) => [s.Action].flat().includes('kinesis:PutRecords'));
      expect([put?.Action].flat().sort()).toEqual([
        'kinesis:ListShards',
        'kinesis:PutRecord',
        'kinesis:PutRecords',
      ]);
      expect(JSON.stringify(put?.Resource)).toMatch(/Fn::ImportValue.*FrameEvents.*Arn/);
    }
  });

  it('sets only variables of the settings schema on the consumer', () => {
    const known = new Set(Object.keys(settingsSchema.shape));
    for (const env of ENVIRONMENT_NAMES) {
      const functions = template(env).findResources('AWS::Lambda::Function') as Resources;
      for (const fn of Object.values(functions)) {
        const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> })
          .Variables;
        for (const name of Object.keys(variables)) {
          if (name !== 'NODE_OPTIONS') expect(known.has(name), name).toBe(true);
        }
      }
    }
  });
});

describe('the metrics stack as a whole', () => {
  it("sets the configured retention and the stack's log key on its log groups and restricts every security group", () => {
    for (const env of ENVIRONMENT_NAMES) {
      const { metrics } = synthesized.stages[env];
      const key = idOf(metrics.node.findChild('LogsKey'));
      const groups = template(env).findResources('AWS::Logs::LogGroup') as Resources;
      expect(Object.keys(groups)).toHaveLength(2);
      for (const group of Object.values(groups)) {
        expect(group.Properties.RetentionInDays).toBe(configs[env].logRetentionDays);
        expect(group.Properties.KmsKeyId).toEqual({ 'Fn::GetAtt': [key, 'Arn'] });
      }
      const securityGroups = template(env).findResources('AWS::EC2::SecurityGroup') as Resources;
      for (const [id, group] of Object.entries(securityGroups)) {
        const egress = group.Properties.SecurityGroupEgress as { CidrIp?: string }[] | undefined;
        expect(egress, id).toBeDefined();
        expect(
          egress?.some((rule) => rule.CidrIp === '0.0.0.0/0'),
          id,
        ).toBe(false);
      }
    }
  });

  it('acknowledges only the expected cdk-nag rules, each with a reason', () => {
    const acknowledged = new Map<string, string[]>();
    for (const construct of synthesized.stages.dev.metrics.node.findAll()) {
      for (const entry of construct.node.metadata) {
        if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
        for (const [id, reason] of Object.entries(entry.data as Record<string, string>)) {
          expect(reason.length, id).toBeGreaterThan(40);
          const rule = id.replace(/^annotation::/i, '').replace(/<[^>]+>/, '<bucket>');
          const path = construct.node.path.split('/').slice(2).join('/');
          acknowledged.set(rule, [...(acknowledged.get(rule) ?? []), path]);
        }
      }
    }
    expect(Object.fromEntries(acknowledged)).toEqual({
      'AwsSolutions-L1': ['MetricsConsumerFunction/Function'],
      'Serverless-LambdaLatestVersion': ['MetricsConsumerFunction/Function'],
      'Serverless-LambdaDLQ': ['MetricsConsumerFunction/Function'],
      'NIST.800.53.R5-LambdaDLQ': ['MetricsConsumerFunction/Function'],
      'AwsSolutions-IAM5[Resource::*]': ['MetricsConsumerFunction/Role/Policy'],
      'Serverless-SQSRedrivePolicy': ['FailedBatchesDeadLetters'],
      'AwsSolutions-S1': ['FrameArchiveAccessLogs'],
      'NIST.800.53.R5-S3DefaultEncryptionKMS': ['FrameArchiveAccessLogs'],
      'NIST.800.53.R5-S3BucketReplicationEnabled': ['FrameArchiveAccessLogs', 'FrameArchive'],
      'AwsSolutions-IAM5[Resource::<bucket>/frames/*]': ['FrameArchiveDeliveryRole/Policy'],
      'AwsSolutions-IAM5[Resource::<bucket>/errors/*]': ['FrameArchiveDeliveryRole/Policy'],
      'AwsSolutions-KDF1': ['FrameArchiveDelivery'],
    });
  });
});

describe('the metrics configuration', () => {
  const environments = () =>
    structuredClone(cdkJsonContext()[ENVIRONMENTS_CONTEXT_KEY]) as Record<
      EnvironmentName,
      { metrics: Record<string, unknown> }
    >;

  it('requires a shard count for a provisioned stream and none on demand', () => {
    const raw = environments();
    raw.dev.metrics.stream = { mode: 'provisioned' };
    raw.prod.metrics.stream = { mode: 'onDemand', shards: 2 };
    expect(() => parseEnvironmentConfigs(raw)).toThrow(
      /dev\.metrics\.stream\.shards[\s\S]*prod\.metrics\.stream/,
    );
  });

  it('reserves for the consumer at least the batches a provisioned stream runs at once', () => {
    for (const env of ENVIRONMENT_NAMES) {
      const { stream, parallelizationFactor } = configs[env].metrics;
      if (stream.mode !== 'provisioned') continue;
      expect(configs[env].lambda.reservedConcurrency.metricsConsumer).toBeGreaterThanOrEqual(
        stream.shards * parallelizationFactor,
      );
    }
    const raw = environments() as Record<
      EnvironmentName,
      { metrics: Record<string, unknown>; lambda: { reservedConcurrency: Record<string, number> } }
    >;
    raw.staging.metrics.stream = { mode: 'provisioned', shards: 3 };
    raw.staging.metrics.parallelizationFactor = 2;
    raw.staging.lambda.reservedConcurrency.metricsConsumer = 5;
    expect(() => parseEnvironmentConfigs(raw)).toThrow(
      /staging\.lambda\.reservedConcurrency\.metricsConsumer: must be at least .* \(6\)/,
    );
    raw.staging.lambda.reservedConcurrency.metricsConsumer = 6;
    expect(parseEnvironmentConfigs(raw).staging.lambda.reservedConcurrency.metricsConsumer).toBe(6);
  });

  it('keeps the parallelization factor within what Lambda accepts (1 to 10)', () => {
    const raw = environments();
    raw.staging.metrics.parallelizationFactor = 11;
    expect(() => parseEnvironmentConfigs(raw)).toThrow(/staging\.metrics\.parallelizationFactor/);
  });
});
