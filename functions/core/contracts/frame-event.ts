/**
 * The frame event: one answered frame's metrics as they travel from the service that compressed
 * it, through the metrics stream (Kinesis Data Streams on AWS, a Redis stream locally), to the
 * consumer that adds it to the totals and rollups and to the per-frame archive (docs/design.md
 * section 5.8). One JSON object per stream record, snake_case like the rest of the API.
 *
 * The stream is written only by this service, but a record is still checked when it is read: a
 * record that does not parse is set aside and counted, never allowed to stop its shard.
 */
import { z } from 'zod';
import { frameStatusSchema } from './compress.ts';

/** Current version of the record layout; a consumer refuses versions it does not know. */
export const FRAME_EVENT_VERSION = 1;

// The bounds of the columns the consumer writes (Postgres `integer`, text without NUL): a record
// past them would fail its whole batch on every retry, so it is refused when it is read instead.
const INT32_MAX = 2_147_483_647;
const ms = z.number().finite().nonnegative();
const bytes = z.number().int().nonnegative().max(INT32_MAX);
const count = z.number().int().positive().max(INT32_MAX);
const text = (min: number, max: number) =>
  z
    .string()
    .min(min)
    .max(max)
    .refine((value) => !value.includes('\u0000'), 'must not hold NUL');

// The fields of a record; the schema below adds the checks across them.
const frameEventFields = z.object({
  v: z.literal(FRAME_EVENT_VERSION),
  /**
   * The frame's identity within its session (docs/design.md section 2.3): `f:<frame_number>`,
   * `k:<Idempotency-Key>`, or `e:<uuid>` for a frame with neither (fixed when the frame is
   * answered, so a producer's retry of the record carries the same one).
   */
  event_id: text(3, 300),
  user_id: text(1, 256),
  session_id: z.uuid(),
  /** When the frame was answered (ISO 8601): its hour in the rollups. */
  recorded_at: z.iso.datetime({ offset: true }),
  frame_number: z.number().int().nonnegative().nullable(),
  idempotency_key: text(1, 255).nullable(),
  frame_type: z.enum(['video', 'screen']),
  mode: z.enum(['off', 'conservative', 'adaptive', 'aggressive']),
  format: text(1, 16),
  quality: z.number().int().min(0).max(100).nullable(),
  width: count,
  height: count,
  original_bytes: bytes,
  compressed_bytes: bytes,
  compression_ratio: z.number().finite(),
  ssim: z.number().finite().nullable(),
  /**
   * The engine's SSIM, which the policy's floors apply to (docs/design.md section 4.9); it came
   * after the first records and is optional within version 1.
   */
  quality_score: z.number().finite().nullable().optional(),
  psnr_db: z.number().finite().nullable(),
  budget_bytes: bytes,
  within_budget: z.boolean(),
  encode_attempts: bytes,
  decode_ms: ms,
  encode_ms: ms,
  metrics_ms: ms,
  total_ms: ms,
  fallback: z.boolean(),
  fallback_reason: text(0, 200).nullable(),
  status: frameStatusSchema.nullable().optional(),
  /** Why the frame was dropped (status `dropped`); null otherwise. */
  drop_reason: text(1, 200).nullable().optional(),
});

/**
 * One answered frame, as a stream record. `status` and `drop_reason` came after the first records
 * and are optional within version 1: a record without them (`status` absent or null) is stored
 * with the status its `fallback` gives, as rows from before them are read. A record whose status
 * contradicts `fallback` (true exactly for `fallback`; `success`, `dropped` and `unchanged` go with
 * false) is refused, since the totals count both and the statuses exclude each other.
 */
export const frameEventSchema = frameEventFields.refine(
  (event) => event.status == null || (event.status === 'fallback') === event.fallback,
  { message: 'status and fallback disagree', path: ['status'] },
);

/** One answered frame, as a stream record. */
export type FrameEvent = z.infer<typeof frameEventSchema>;

/** The partition key of a frame event: its session, so one session's frames stay in order. */
export function frameEventPartitionKey(event: Pick<FrameEvent, 'session_id'>): string {
  return event.session_id;
}

/** A record read back from the stream: the event, or why it was set aside. */
export type ParsedFrameEvent =
  | { ok: true; event: FrameEvent }
  | { ok: false; reason: 'not_json' | 'invalid' };

/** Reads one stream record's bytes (UTF-8 JSON) as a {@link FrameEvent}. */
export function parseFrameEvent(data: string): ParsedFrameEvent {
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return { ok: false, reason: 'not_json' };
  }
  const parsed = frameEventSchema.safeParse(value);
  return parsed.success ? { ok: true, event: parsed.data } : { ok: false, reason: 'invalid' };
}
