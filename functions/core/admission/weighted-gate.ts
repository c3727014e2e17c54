import { type Permit, permitOf } from './permit.ts';

/**
 * A gate that admits work by weight up to a fixed capacity, without queueing: a request gets its
 * permit at once or is refused, so a refused caller holds nothing and can be told to retry. The
 * gRPC task weighs its frames in the work by their decoded pixels with one gate per process
 * (docs/design.md section 3).
 */
export class WeightedGate {
  readonly capacity: number;
  #inUse = 0;

  constructor(capacity: number) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    }
    this.capacity = capacity;
  }

  /** The weight held by the permits not yet released. */
  get inUse(): number {
    return this.#inUse;
  }

  /**
   * A permit for `weight`, or undefined when it does not fit beside the permits held. A weight is
   * counted as a whole number from 1 to the capacity: work heavier than the whole gate still runs,
   * alone, instead of never.
   */
  tryAcquire(weight: number): Permit | undefined {
    const counted = Math.min(this.capacity, Math.max(1, Math.ceil(weight) || 1));
    if (this.#inUse + counted > this.capacity) return undefined;
    this.#inUse += counted;
    return permitOf(() => {
      this.#inUse -= counted;
    });
  }
}
