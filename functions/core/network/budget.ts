/**
 * Per-frame byte budget (docs/design.md section 4).
 *
 * usable bandwidth = estimate x (1 - loss) x {@link BANDWIDTH_SAFETY_FACTOR}; one frame gets what
 * the session's bit bucket allows (`core/temporal/bit-bucket.ts`), or usable / fps of it without
 * one, and never more than `original x (1 - target_compression_ratio)`.
 */

/** Share of the estimated bandwidth a frame may use; the rest absorbs estimate error and jitter. */
export const BANDWIDTH_SAFETY_FACTOR = 0.85;

/** Frames per second assumed when a network sample carries none (docs/design.md section 2). */
export const DEFAULT_FPS = 30;

/** What the session knows about its network, in the units of the public contract. */
export interface NetworkSample {
  /** Estimated available bandwidth, in kilobits (1000 bits) per second. */
  readonly bandwidthKbps: number;
  /** Packet loss, 0..100 percent. */
  readonly packetLossPercent: number;
  /** Frames per second of the stream; {@link DEFAULT_FPS} when omitted. */
  readonly fps?: number;
}

/** Inputs of {@link frameBudget}. */
export interface BudgetInput {
  /** Size of the frame as received, in bytes. */
  readonly originalBytes: number;
  /** Fraction of bytes to remove, 0 <= ratio < 1 (0.8 = 80 % smaller). */
  readonly targetCompressionRatio: number;
  /** The session's network estimate; without it only the ratio cap applies. */
  readonly network?: NetworkSample;
  /**
   * What the session's bit bucket lets this frame send (`frameTarget`), in place of the network's
   * even share per frame; only with `network`.
   */
  readonly networkBytes?: number;
  /**
   * Whether the ratio cap applies; default true. A refinement of a still frame (`core/temporal`)
   * is held to the bucket alone: the frames after it send nothing, so the session meets its ratio
   * over them. Only with `network`.
   */
  readonly capByRatio?: boolean;
}

/** The byte budget of one frame and which constraint set it. */
export interface FrameBudget {
  /** Largest output, in whole bytes, that fits the frame's share of the network and the ratio cap. */
  readonly budgetBytes: number;
  /** `network` when the bandwidth share is strictly below the ratio cap, else `target_ratio`. */
  readonly limitedBy: 'network' | 'target_ratio';
}

function requireFinite(name: string, value: number, min: number, max: number): void {
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new RangeError(`${name} must be a finite number in [${min}, ${max}], got ${value}`);
  }
}

/**
 * The usable bandwidth in bytes per second: `kbps x 1000 / 8 x (1 - loss) x safety`.
 *
 * @throws RangeError when bandwidth is negative or loss is outside 0..100.
 */
export function usableBytesPerSecond(network: NetworkSample): number {
  requireFinite('bandwidthKbps', network.bandwidthKbps, 0, Number.MAX_VALUE);
  requireFinite('packetLossPercent', network.packetLossPercent, 0, 100);
  const bytesPerSecond = (network.bandwidthKbps * 1000) / 8;
  return bytesPerSecond * (1 - network.packetLossPercent / 100) * BANDWIDTH_SAFETY_FACTOR;
}

/** The stream's frames per second: the sample's, else {@link DEFAULT_FPS}. */
export function framesPerSecond(network: NetworkSample): number {
  const fps = network.fps ?? DEFAULT_FPS;
  requireFinite('fps', fps, Number.MIN_VALUE, Number.MAX_VALUE);
  return fps;
}

/**
 * Bytes one frame may use on the network: the usable bandwidth over the fps, rounded down (a
 * budget is a ceiling).
 *
 * @throws RangeError when bandwidth or fps is not positive, or loss is outside 0..100.
 */
export function networkBytesPerFrame(network: NetworkSample): number {
  const fps = framesPerSecond(network);
  return Math.floor(usableBytesPerSecond(network) / fps);
}

/**
 * The frame's byte budget: the network share when a sample is known, capped by the target ratio.
 *
 * @throws RangeError when `originalBytes` is not positive, the ratio is outside [0, 1), or the
 *   network sample is invalid (see {@link networkBytesPerFrame}).
 */
export function frameBudget(input: BudgetInput): FrameBudget {
  requireFinite('originalBytes', input.originalBytes, Number.MIN_VALUE, Number.MAX_VALUE);
  requireFinite('targetCompressionRatio', input.targetCompressionRatio, 0, 1);
  if (input.targetCompressionRatio === 1) {
    throw new RangeError('targetCompressionRatio must be below 1');
  }
  // The epsilon keeps binary rounding from costing a byte: 100000 x (1 - 0.8) is 19999.999...
  const ratioCap = Math.floor(input.originalBytes * (1 - input.targetCompressionRatio) + 1e-6);
  if (input.network === undefined) return { budgetBytes: ratioCap, limitedBy: 'target_ratio' };
  const networkShare = input.networkBytes ?? networkBytesPerFrame(input.network);
  return networkShare < ratioCap || input.capByRatio === false
    ? { budgetBytes: networkShare, limitedBy: 'network' }
    : { budgetBytes: ratioCap, limitedBy: 'target_ratio' };
}
