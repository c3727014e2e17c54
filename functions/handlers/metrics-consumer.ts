import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { captureLambdaHandler } from '@aws-lambda-powertools/tracer/middleware';
import middy from '@middy/core';
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { consumeFrameRecords } from '../app/frame-event-consumer.ts';
import { logger, metrics, tracer } from '../platform/observability.ts';
import { getRuntime } from '../platform/runtime.ts';

/**
 * Lambda entry of the metrics consumer, invoked by the Kinesis event source mapping of the frame
 * event stream with a batch of one shard's records (docs/design.md section 5.8). The batch is
 * applied in one statement, all or nothing: when it fails, the first record is reported as the
 * failure, so the mapping retries (and, bisecting, isolates) from there; a repeated record is
 * counted once.
 */
export const handler = middy<KinesisStreamEvent, KinesisStreamBatchResponse>()
  .use(injectLambdaContext(logger, { resetKeys: true }))
  .use(captureLambdaHandler(tracer))
  .use(logMetrics(metrics))
  .handler(async (event) => {
    const records = event.Records;
    if (records.length === 0) return { batchItemFailures: [] };
    try {
      const { db } = await getRuntime();
      const batch = await consumeFrameRecords(
        db.sql,
        records.map((record) => Buffer.from(record.kinesis.data, 'base64').toString('utf8')),
      );
      logger.info('Applied a batch of frame events', { ...batch });
      return { batchItemFailures: [] };
    } catch (error) {
      logger.error('Could not apply a batch of frame events; it will be retried', { error });
      const first = records[0]?.kinesis.sequenceNumber as string;
      return { batchItemFailures: [{ itemIdentifier: first }] };
    }
  });
