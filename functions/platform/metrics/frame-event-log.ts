/**
 * The port every producer of frame events writes through (docs/design.md section 5.8): a durable,
 * ordered-per-session log that a consumer reads in batches. Adapters: Kinesis Data Streams on AWS,
 * a Redis stream locally and in tests, and Postgres itself when neither is configured.
 */
import type { FrameEvent } from '../../core/contracts/frame-event.ts';

/** Where frame events go. */
export type FrameEventLogKind = 'kinesis' | 'redis' | 'postgres';

/** A durable log of frame events. */
export interface FrameEventLog {
  readonly kind: FrameEventLogKind;
  /**
   * Appends `events`, resolving once every one of them is stored durably by the log (the moment a
   * frame may be answered). A rejected append may still have stored some events: their ids make
   * the consumer count them once.
   *
   * @throws DependencyUnavailableError when the log could not store every event, after the
   *   adapter's own retries (the frame is answered 503 and its retry is worked again).
   */
  append(events: readonly FrameEvent[]): Promise<void>;
  /** Flushes what is pending and releases the adapter's resources. */
  close(): Promise<void>;
}
