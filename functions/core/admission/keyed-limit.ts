import { type Permit, permitOf } from './permit.ts';

/**
 * At most `max` units held at once per key (a user, a connection), without queueing: a permit
 * weighs one unit unless asked otherwise (a frame's pixels). A key is tracked only while it holds a
 * permit, so the map never grows with keys that have come and gone.
 */
export class KeyedLimit {
  readonly max: number;
  readonly #held = new Map<string, number>();

  constructor(max: number) {
    if (!Number.isSafeInteger(max) || max < 1) {
      throw new RangeError(`max must be a positive integer, got ${max}`);
    }
    this.max = max;
  }

  /** Keys holding at least one permit. */
  get keys(): number {
    return this.#held.size;
  }

  /** Units `key` holds now. */
  held(key: string): number {
    return this.#held.get(key) ?? 0;
  }

  /** A permit of `weight` units for `key`, or undefined when it would hold more than `max`. */
  tryAcquire(key: string, weight = 1): Permit | undefined {
    const held = this.held(key);
    if (held + weight > this.max) return undefined;
    this.#held.set(key, held + weight);
    return permitOf(() => {
      const left = this.held(key) - weight;
      if (left > 0) this.#held.set(key, left);
      else this.#held.delete(key);
    });
  }
}
