/**
 * A session's bit bucket (docs/design.md section 4.5b): how many bytes a frame may send, so that a
 * stream spends the bandwidth the network allows over time rather than a fixed share per frame.
 *
 * Bytes accrue at the usable rate (`usableBytesPerSecond`) over the time between frames, up to a
 * burst of {@link BURST_SECONDS} of the rate; a frame spends what it sends; cheap frames leave bytes
 * for later ones (a still screen banks them for a sharp version of itself). A one-second guard keeps every window of one second of the frame clock within the
 * rate: a frame may send no more than the rate less what the frames of the second before it sent.
 * The state is plain data (stored as JSON in Redis, or held in memory by a gRPC stream).
 */
import { z } from 'zod';

/** The burst a session may bank, in seconds of its rate (libwebrtc's frame dropper uses ~0.5 s). */
export const BURST_SECONDS = 0.5;

/** The guard's window: no window of this length carries more than the rate times its length. */
export const GUARD_WINDOW_US = 1_000_000;

/**
 * Frames a video frame spreads the bank over: it aims at its own share plus this fraction of what
 * is banked beyond it, so a quiet stretch is spent over the next few frames rather than on one.
 */
export const SPREAD_FRAMES = 4;

/** Bytes one frame sent, at its frame clock. */
export interface SentBytes {
  readonly atUs: number;
  readonly bytes: number;
}

/** A session's bucket after its latest frame. */
export interface BucketState {
  /** Bytes the session may spend; below zero after a frame sent more than it had (a debt). */
  readonly tokens: number;
  /** Frame clock of the latest frame, in microseconds. */
  readonly atUs: number;
  /** What the frames of the guard's window before `atUs` sent, oldest first. */
  readonly sent: readonly SentBytes[];
  /**
   * The latest frame was dropped: nothing that meets the floor fitted its target in the time it
   * had. The next frame aims at all the bucket holds ({@link frameTarget}).
   */
  readonly missed?: boolean;
}

/** The bucket's JSON form, checked when read back from a store. */
export const bucketStateSchema = z.object({
  tokens: z.number().finite(),
  atUs: z.number().finite(),
  sent: z
    .array(z.object({ atUs: z.number().finite(), bytes: z.number().finite().nonnegative() }))
    .max(10_000),
  missed: z.boolean().optional(),
});

/**
 * A new session's bucket: one frame's share, as if the session had been sending at the rate. A full
 * bucket would let the first second carry the burst on top of the rate, which the one-second guard
 * then takes back from the frames at the end of that second.
 */
export function newBucket(bytesPerSecond: number, fps: number, atUs: number): BucketState {
  return { tokens: Math.min(bytesPerSecond / fps, bytesPerSecond * BURST_SECONDS), atUs, sent: [] };
}

/**
 * The frame clock of a frame: its `timestamp_us` when it has one, else one frame interval after
 * the session's latest frame (0 for a first frame).
 */
export function frameClockUs(
  state: BucketState | undefined,
  timestampUs: number | undefined,
  fps: number,
): number {
  if (timestampUs !== undefined) return timestampUs;
  return state === undefined ? 0 : state.atUs + 1_000_000 / fps;
}

/**
 * The bucket at `atUs`: bytes accrued at `bytesPerSecond` since its latest frame, capped at the
 * burst. A clock that goes back accrues nothing and keeps the bucket's time, so a client cannot
 * earn bytes by rewinding its timestamps.
 */
export function advance(state: BucketState, bytesPerSecond: number, atUs: number): BucketState {
  const now = Math.max(state.atUs, atUs);
  const accrued = (bytesPerSecond * (now - state.atUs)) / 1_000_000;
  const tokens = Math.min(bytesPerSecond * BURST_SECONDS, state.tokens + accrued);
  const sent = state.sent.filter((entry) => entry.atUs > now - GUARD_WINDOW_US);
  return state.missed ? { tokens, atUs: now, sent, missed: true } : { tokens, atUs: now, sent };
}

/** Bytes the guard's window before the bucket's time already carries. */
function sentInWindow(state: BucketState): number {
  return state.sent.reduce((sum, entry) => sum + entry.bytes, 0);
}

/**
 * The most a frame at the bucket's time may send, in whole bytes: what the bucket holds, and what
 * the last second leaves of the rate.
 */
export function allowance(state: BucketState, bytesPerSecond: number): number {
  const guardRoom = (bytesPerSecond * GUARD_WINDOW_US) / 1_000_000 - sentInWindow(state);
  return Math.max(0, Math.floor(Math.min(state.tokens, guardRoom)));
}

/** The most one frame can ever send at this rate: a full bucket, in whole bytes. */
export function burstBytes(bytesPerSecond: number): number {
  return Math.floor(bytesPerSecond * BURST_SECONDS);
}

/** Whether a frame at the bucket's time may send a whole burst: there is no more to wait for. */
export function isFull(state: BucketState, bytesPerSecond: number): boolean {
  return allowance(state, bytesPerSecond) >= burstBytes(bytesPerSecond);
}

/**
 * The byte budget a frame aims at. `spendAll` (a refinement of what the viewer already has) may
 * spend the whole allowance, and so may a frame after one that was dropped ({@link markMissed}):
 * the content that did not fit a share and a part of the bank would not fit it again, and a bucket
 * that keeps what it holds for a frame that never fits shows the viewer nothing at all, where
 * libwebrtc's frame dropper lets the next frame through once the bucket has drained. Any other
 * frame aims at its share of the rate plus 1/{@link SPREAD_FRAMES} of what is banked beyond it, as
 * far as the last second left room beyond a share. The guard's room is spread like the bank: frames
 * that spend above their share shrink it, so the frames after them still find about a share rather
 * than a guard that took it all back (which would drop them). Never above {@link allowance}.
 */
export function frameTarget(
  state: BucketState,
  bytesPerSecond: number,
  fps: number,
  spendAll: boolean,
): number {
  const limit = allowance(state, bytesPerSecond);
  if (spendAll || state.missed) return limit;
  const share = bytesPerSecond / fps;
  const guardRoom = (bytesPerSecond * GUARD_WINDOW_US) / 1_000_000 - sentInWindow(state);
  const spare = Math.max(0, Math.min(state.tokens, guardRoom) - share);
  return Math.min(limit, Math.floor(share + spare / SPREAD_FRAMES));
}

/**
 * The bucket after a frame at its time sent `bytes`. A frame sent over its allowance (the policy
 * asked for the smallest encoding or the original) leaves a debt, bounded by one second of the
 * rate so that one large frame does not silence the session for longer than that.
 */
export function spend(state: BucketState, bytesPerSecond: number, bytes: number): BucketState {
  if (bytes <= 0) return state;
  const tokens = Math.max(-bytesPerSecond, state.tokens - bytes);
  return { tokens, atUs: state.atUs, sent: [...state.sent, { atUs: state.atUs, bytes }] };
}

/** The bucket after a frame at its time was dropped, so that the next one may spend it all. */
export function markMissed(state: BucketState): BucketState {
  return { ...state, missed: true };
}
