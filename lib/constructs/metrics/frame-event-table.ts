import { Stack } from 'aws-cdk-lib';
import { CfnTable } from 'aws-cdk-lib/aws-glue';
import type { IBucket } from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import type { FrameEvent } from '../../../functions/core/contracts/frame-event.ts';

/**
 * The Hive type of each frame event field, in the record's order: the Glue table's columns, which
 * Firehose converts the JSON records by and Athena reads the Parquet files with. Keyed by the
 * event's fields, so a field added to the contract does not compile until it has a column.
 * `recorded_at` is a `timestamp`: producers write it as ISO 8601 in UTC with a `Z`
 * (`Date.toISOString()`), a form the OpenX JSON SerDe parses (an offset such as `+02:00` it does
 * not: such a record would go to the error prefix).
 */
export const FRAME_EVENT_COLUMNS: Readonly<Record<keyof FrameEvent, string>> = {
  v: 'int',
  event_id: 'string',
  user_id: 'string',
  session_id: 'string',
  recorded_at: 'timestamp',
  frame_number: 'bigint',
  idempotency_key: 'string',
  frame_type: 'string',
  mode: 'string',
  format: 'string',
  quality: 'int',
  width: 'int',
  height: 'int',
  original_bytes: 'bigint',
  compressed_bytes: 'bigint',
  compression_ratio: 'double',
  ssim: 'double',
  quality_score: 'double',
  psnr_db: 'double',
  budget_bytes: 'bigint',
  within_budget: 'boolean',
  encode_attempts: 'int',
  decode_ms: 'double',
  encode_ms: 'double',
  metrics_ms: 'double',
  total_ms: 'double',
  fallback: 'boolean',
  fallback_reason: 'string',
  status: 'string',
  drop_reason: 'string',
};

/**
 * The partition keys, in path order: the UTC day of `recorded_at` and the tenant (the event's
 * `user_id`), as Firehose's dynamic partitioning writes them under {@link FRAME_EVENT_PREFIX}.
 */
export const FRAME_EVENT_PARTITIONS = { dt: 'string', tenant: 'string' } as const;

/** Key prefix of the archived frame events; each object lies under `dt=<day>/tenant=<id>/`. */
export const FRAME_EVENT_PREFIX = 'frames/';

/** Properties of {@link frameEventTable}. */
export interface FrameEventTableProps {
  /** The Glue database (`CfnDatabase` name) the table belongs to. */
  readonly databaseName: string;
  /** The table's name. */
  readonly tableName: string;
  /** The archive bucket. */
  readonly bucket: IBucket;
  /** Days the archive keeps objects: the days Athena projects back from today. */
  readonly retentionDays: number;
}

/**
 * The Glue table of the archived frame events: Parquet under {@link FRAME_EVENT_PREFIX}, columns
 * {@link FRAME_EVENT_COLUMNS}, partitioned by {@link FRAME_EVENT_PARTITIONS} with partition
 * projection, so Athena computes the partitions from the query instead of a crawler or
 * `MSCK REPAIR`: `dt` as a date over the retention, `tenant` injected (a query names one tenant:
 * `WHERE tenant = '...'`).
 */
export function frameEventTable(
  scope: Construct,
  id: string,
  props: FrameEventTableProps,
): CfnTable {
  const { bucket, retentionDays } = props;
  const location = `s3://${bucket.bucketName}/${FRAME_EVENT_PREFIX}`;
  return new CfnTable(scope, id, {
    catalogId: Stack.of(scope).account,
    databaseName: props.databaseName,
    tableInput: {
      name: props.tableName,
      description:
        'Answered frames, one row per frame event (functions/core/contracts/frame-event.ts)',
      tableType: 'EXTERNAL_TABLE',
      parameters: {
        EXTERNAL: 'TRUE',
        classification: 'parquet',
        'parquet.compression': 'SNAPPY',
        'projection.enabled': 'true',
        'projection.dt.type': 'date',
        'projection.dt.format': 'yyyy-MM-dd',
        'projection.dt.range': `NOW-${retentionDays}DAYS,NOW`,
        'projection.dt.interval': '1',
        'projection.dt.interval.unit': 'DAYS',
        'projection.tenant.type': 'injected',
        'storage.location.template': `${location}dt=\${dt}/tenant=\${tenant}/`,
      },
      partitionKeys: Object.entries(FRAME_EVENT_PARTITIONS).map(([name, type]) => ({ name, type })),
      storageDescriptor: {
        columns: Object.entries(FRAME_EVENT_COLUMNS).map(([name, type]) => ({ name, type })),
        location,
        inputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat',
        outputFormat: 'org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat',
        serdeInfo: {
          serializationLibrary: 'org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe',
        },
      },
    },
  });
}
