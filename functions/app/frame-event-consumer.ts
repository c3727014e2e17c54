/**
 * The metrics consumer's work on one batch of stream records (docs/design.md section 5.8), the same
 * for the Lambda behind the Kinesis event source mapping and for the local Redis-stream consumer:
 * read each record as a frame event, set aside what does not parse, and apply the rest in one
 * statement that counts every frame once.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { type FrameEvent, parseFrameEvent } from '../core/contracts/frame-event.ts';
import type { Sql } from '../platform/db/database.ts';
import { applyFrameEvents } from '../platform/db/frame-metrics-repository.ts';
import { logger, metrics } from '../platform/observability.ts';

/** What one batch came to. */
export interface ConsumedBatch {
  received: number;
  /** Frames stored and counted by this batch. */
  stored: number;
  /**
   * Frames not counted now: counted before (a repeat delivery or a producer's retry), or of a
   * session nobody claimed.
   */
  repeats: number;
  /** Records that are not frame events: logged, counted and skipped. */
  rejected: number;
}

/**
 * Applies one batch of records (each the UTF-8 JSON of a frame event). A record that is not a frame
 * event would fail every retry of its batch, so it is skipped, never retried: it cannot stop its
 * shard.
 *
 * @throws whatever Postgres throws: nothing of the batch is then stored, and its redelivery is safe.
 */
export async function consumeFrameRecords(
  sql: Sql,
  records: readonly string[],
): Promise<ConsumedBatch> {
  const events: FrameEvent[] = [];
  let rejected = 0;
  for (const record of records) {
    const parsed = parseFrameEvent(record);
    if (parsed.ok) events.push(parsed.event);
    else {
      rejected += 1;
      logger.error('A metrics stream record is not a frame event; skipped', {
        reason: parsed.reason,
        bytes: record.length,
      });
    }
  }
  const { stored } = await applyFrameEvents(sql, events);
  const batch = { received: records.length, stored, repeats: events.length - stored, rejected };
  metrics.addMetric('FrameEventsStored', MetricUnit.Count, batch.stored);
  if (batch.repeats > 0) metrics.addMetric('FrameEventsRepeated', MetricUnit.Count, batch.repeats);
  if (rejected > 0) metrics.addMetric('FrameEventsRejected', MetricUnit.Count, rejected);
  return batch;
}
