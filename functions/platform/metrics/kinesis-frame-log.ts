/**
 * The Kinesis Data Streams adapter of the frame-event log (docs/design.md section 5.8): each
 * event is one record (UTF-8 JSON), keyed by its session so one session's frames share a shard.
 *
 * PutRecords is not all-or-nothing: an answer may report some entries as failed (throttled shard,
 * internal failure) while the rest are stored. Only the failed entries are sent again, so a
 * retry never stores an event twice on purpose (and the consumer counts by event id anyway).
 */
import { setTimeout as sleepMs } from 'node:timers/promises';
import {
  type KinesisClient,
  PutRecordsCommand,
  type PutRecordsOutput,
} from '@aws-sdk/client-kinesis';
import { backoffDelays } from '../../core/backoff.ts';
import { type FrameEvent, frameEventPartitionKey } from '../../core/contracts/frame-event.ts';
import { DependencyUnavailableError } from '../../core/errors.ts';
import type { FrameEventLog } from './frame-event-log.ts';

/** The dependency name used in {@link DependencyUnavailableError} for the stream. */
export const METRICS_STREAM_DEPENDENCY = 'metrics stream';

/** The limits {@link planPutBatches} splits by. */
export interface PutLimits {
  /** Records in one PutRecords call. */
  maxRecords: number;
  /** Bytes ({@link recordBytes}) in one PutRecords call. */
  maxBytes: number;
  /** Bytes of one record. */
  maxRecordBytes: number;
}

/** Kinesis service limits of one PutRecords call and of one record (data plus partition key). */
export const KINESIS_PUT_LIMITS: Readonly<PutLimits> = Object.freeze({
  maxRecords: 500,
  maxBytes: 5 * 1024 * 1024,
  maxRecordBytes: 1024 * 1024,
});

const DEFAULT_MAX_ATTEMPTS = 4;
const DEFAULT_BASE_DELAY_MS = 100;
// A frame waits for its append: never sleep longer than this between two tries.
const MAX_DELAY_MS = 2_000;

/** What {@link KinesisFrameLogOptions.onRetry} is told before each wait. */
export interface KinesisRetryInfo {
  /** The try that failed, from 1. */
  attempt: number;
  /** How long the adapter now waits (jitter included). */
  delayMs: number;
  /** How many records the next try sends. */
  records: number;
  /** The thrown SDK error, or a {@link PutRecordsPartialFailure}. */
  error: unknown;
}

/** Options of {@link createKinesisFrameLog}. */
export interface KinesisFrameLogOptions {
  /**
   * The caller's client, shared and closed by the caller. Its own retry strategy still applies
   * inside each of this adapter's tries to errors the SDK deems retryable.
   */
  client: KinesisClient;
  streamName: string;
  /** Tries per batch, the first included (default 4). */
  maxAttempts?: number;
  /** Wait before the second try, doubling after (default 100 ms), capped at 2 s, jittered. */
  baseDelayMs?: number;
  onRetry?: (info: KinesisRetryInfo) => void;
}

/** Some entries of a PutRecords answer failed; the rest were stored. */
export class PutRecordsPartialFailure extends Error {
  /** How many entries failed, by Kinesis `ErrorCode`. */
  readonly errorCodes: Readonly<Record<string, number>>;

  constructor(failed: number, sent: number, errorCodes: Record<string, number>) {
    const codes = Object.entries(errorCodes).map(([code, n]) => `${code} x${n}`);
    super(`PutRecords: ${failed} of ${sent} records failed (${codes.join(', ')})`);
    this.name = 'PutRecordsPartialFailure';
    this.errorCodes = errorCodes;
  }
}

/** One record as sent in PutRecords. */
export interface KinesisPutEntry {
  Data: Uint8Array;
  PartitionKey: string;
}

interface Context {
  client: KinesisClient;
  streamName: string;
  delays: number[];
  onRetry: ((info: KinesisRetryInfo) => void) | undefined;
}

/**
 * A {@link FrameEventLog} writing to the Kinesis stream `streamName`. `append` sends its events in
 * order, in as few PutRecords calls as the service limits allow, one call at a time (so a later
 * batch never overtakes an earlier one). A failed entry that is sent again may land after a later
 * entry of its session that succeeded: the consumer must not rely on strict order across retries.
 *
 * @throws RangeError (from `append`) for an event whose record is over 1 MiB: no retry helps.
 */
export function createKinesisFrameLog(options: KinesisFrameLogOptions): FrameEventLog {
  const context: Context = {
    client: options.client,
    streamName: options.streamName,
    delays: backoffDelays({
      tries: options.maxAttempts ?? DEFAULT_MAX_ATTEMPTS,
      baseDelayMs: options.baseDelayMs ?? DEFAULT_BASE_DELAY_MS,
      maxDelayMs: MAX_DELAY_MS,
    }),
    onRetry: options.onRetry,
  };
  return {
    kind: 'kinesis',
    async append(events) {
      const batches = planPutBatches(events.map(toEntry));
      for (const batch of batches) await putWithRetry(context, batch);
    },
    // The client is the caller's: nothing is buffered here and nothing else is held.
    async close() {},
  };
}

function toEntry(event: FrameEvent): KinesisPutEntry {
  return {
    Data: Buffer.from(JSON.stringify(event), 'utf8'),
    PartitionKey: frameEventPartitionKey(event),
  };
}

/** Bytes a record counts for in the Kinesis limits: its data plus its partition key (UTF-8). */
export function recordBytes(entry: KinesisPutEntry): number {
  return entry.Data.byteLength + Buffer.byteLength(entry.PartitionKey, 'utf8');
}

/**
 * Splits `entries`, in order, into consecutive batches each within `limits` (count and bytes).
 *
 * @throws RangeError when one entry alone is over `limits.maxRecordBytes`.
 */
export function planPutBatches<T extends KinesisPutEntry>(
  entries: readonly T[],
  limits: Readonly<PutLimits> = KINESIS_PUT_LIMITS,
): T[][] {
  const batches: T[][] = [];
  let current: T[] = [];
  let currentBytes = 0;
  for (const entry of entries) {
    const bytes = recordBytes(entry);
    if (bytes > limits.maxRecordBytes) {
      throw new RangeError(`a record of ${bytes} bytes is over ${limits.maxRecordBytes}`);
    }
    if (current.length === limits.maxRecords || currentBytes + bytes > limits.maxBytes) {
      batches.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(entry);
    currentBytes += bytes;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}

/**
 * Sends `batch`, then its failed entries alone, until none fails or the tries run out.
 *
 * @throws DependencyUnavailableError with the last failure as `cause` after the last try.
 */
async function putWithRetry(context: Context, batch: KinesisPutEntry[]): Promise<void> {
  let pending = batch;
  for (let attempt = 1; ; attempt++) {
    let error: unknown;
    try {
      const output = await context.client.send(
        new PutRecordsCommand({ StreamName: context.streamName, Records: pending }),
      );
      const failed = failedEntries(pending, output);
      if (failed.length === 0) return;
      error = new PutRecordsPartialFailure(failed.length, pending.length, countCodes(output));
      pending = failed;
    } catch (thrown) {
      error = thrown;
    }
    const delay = context.delays[attempt - 1];
    if (delay === undefined) {
      throw new DependencyUnavailableError(METRICS_STREAM_DEPENDENCY, { cause: error });
    }
    const delayMs = jitter(delay);
    context.onRetry?.({ attempt, delayMs, records: pending.length, error });
    await sleepMs(delayMs);
  }
}

/** The entries of `sent` whose result has an `ErrorCode`, in their original order. */
function failedEntries(sent: KinesisPutEntry[], output: PutRecordsOutput): KinesisPutEntry[] {
  if (!output.FailedRecordCount) return [];
  const results = output.Records ?? [];
  // An answer that does not line up with the request cannot say which failed: send all again.
  if (results.length !== sent.length) return sent;
  return sent.filter((_, index) => results[index]?.ErrorCode !== undefined);
}

function countCodes(output: PutRecordsOutput): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const result of output.Records ?? []) {
    if (result.ErrorCode !== undefined) {
      counts[result.ErrorCode] = (counts[result.ErrorCode] ?? 0) + 1;
    }
  }
  return counts;
}

// Half fixed, half random: the wait still grows with each try, while containers throttled by
// the same shard at the same moment spread their retries instead of hitting it together again.
function jitter(delayMs: number): number {
  return Math.round(delayMs / 2 + Math.random() * (delayMs / 2));
}
