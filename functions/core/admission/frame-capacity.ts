import { FRAME_BOUNDS } from '../contracts/compress.ts';
import { ConcurrencyLimitError } from '../errors.ts';
import { readImageDimensions } from './image-dimensions.ts';
import { KeyedLimit } from './keyed-limit.ts';
import { type Permit, permitOf } from './permit.ts';
import { WeightedGate } from './weighted-gate.ts';

/** The most pixels the decoder accepts in a frame (docs/design.md section 2.3). */
export const MAX_FRAME_PIXELS = FRAME_BOUNDS.maxWidth * FRAME_BOUNDS.maxHeight;

/**
 * What a frame will weigh once decoded: the pixels its header declares, at most the decoder's
 * limit (a larger claim is refused by the decoder before it allocates anything). A frame whose
 * header cannot be read weighs as much as the largest frame the decoder accepts.
 */
export function frameWeight(frame: Uint8Array): number {
  const dimensions = readImageDimensions(frame);
  return dimensions
    ? Math.min(dimensions.width * dimensions.height, MAX_FRAME_PIXELS)
    : MAX_FRAME_PIXELS;
}

/** The bounds of {@link FrameCapacity}. */
export interface FrameCapacityLimits {
  /** Decoded pixels of every frame in the work in the process, together. */
  maxPixels: number;
  /** Frames of one user in the work at once, over all its calls. */
  maxFramesPerUser: number;
  /**
   * Decoded pixels of one user's frames in the work together: less than {@link maxPixels}, so
   * that one user cannot fill the process and leave nothing for the others.
   */
  maxPixelsPerUser: number;
}

/**
 * The frames a process lets into the work (decode, engine, store): at most `maxFramesPerUser` of one
 * user weighing at most `maxPixelsPerUser` decoded pixels together, and at most `maxPixels` of
 * everyone's together, so a 4K frame weighs 36 times a 640x360 one. Asked before a frame is decoded; never waits: over either bound, the frame is
 * refused at once with {@link ConcurrencyLimitError} (docs/design.md section 3).
 */
export class FrameCapacity {
  readonly #users: KeyedLimit;
  readonly #userPixels: KeyedLimit;
  readonly #pixels: WeightedGate;

  constructor(limits: FrameCapacityLimits) {
    this.#users = new KeyedLimit(limits.maxFramesPerUser);
    this.#userPixels = new KeyedLimit(Math.min(limits.maxPixelsPerUser, limits.maxPixels));
    this.#pixels = new WeightedGate(limits.maxPixels);
  }

  /** Pixels held by the frames in the work. */
  get pixelsInUse(): number {
    return this.#pixels.inUse;
  }

  /** Users with a frame in the work. */
  get users(): number {
    return this.#users.keys;
  }

  /**
   * Lets one frame of `userId` into the work; release the permit once its work has settled.
   *
   * @throws ConcurrencyLimitError when the user or the process has no room for it.
   */
  admit(userId: string, frame: Uint8Array): Permit {
    const user = this.#users.tryAcquire(userId);
    if (!user) {
      throw new ConcurrencyLimitError(
        `At most ${this.#users.max} frames of one user are processed at once`,
      );
    }
    const weight = frameWeight(frame);
    const userPixels = this.#userPixels.tryAcquire(userId, weight);
    if (!userPixels) {
      user.release();
      throw new ConcurrencyLimitError(
        "One user's frames in the work hold as many pixels as allowed",
      );
    }
    const pixels = this.#pixels.tryAcquire(weight);
    if (!pixels) {
      userPixels.release();
      user.release();
      throw new ConcurrencyLimitError('The server is processing as many frames as it can');
    }
    return permitOf(() => {
      pixels.release();
      userPixels.release();
      user.release();
    });
  }
}
