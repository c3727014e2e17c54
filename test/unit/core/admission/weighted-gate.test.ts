import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Permit } from '../../../../functions/core/admission/permit.ts';
import { WeightedGate } from '../../../../functions/core/admission/weighted-gate.ts';

/** A step of a run: acquire a weight, or release the held permit at an index (twice, sometimes). */
const step = fc.oneof(
  fc.record({ acquire: fc.integer({ min: 0, max: 150 }) }),
  fc.record({ release: fc.nat(), twice: fc.boolean() }),
);

describe('the weighted gate', () => {
  it('never holds more than its capacity, and admits whatever fits', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100 }),
        fc.array(step, { maxLength: 80 }),
        (cap, run) => {
          const gate = new WeightedGate(cap);
          const held: { permit: Permit; weight: number }[] = [];
          for (const s of run) {
            if ('acquire' in s) {
              const counted = Math.min(cap, Math.max(1, s.acquire));
              const fits = gate.inUse + counted <= cap;
              const permit = gate.tryAcquire(s.acquire);
              expect(permit !== undefined).toBe(fits);
              if (permit) held.push({ permit, weight: counted });
            } else if (held.length > 0) {
              const [entry] = held.splice(s.release % held.length, 1);
              entry?.permit.release();
              if (s.twice) entry?.permit.release();
            }
            expect(gate.inUse).toBeLessThanOrEqual(cap);
            expect(gate.inUse).toBe(held.reduce((sum, h) => sum + h.weight, 0));
          }
          for (const { permit } of held) permit.release();
          expect(gate.inUse).toBe(0);
        },
      ),
    );
  });

  it('gives back exactly what a permit took, however often it is released', () => {
    const gate = new WeightedGate(10);
    const a = gate.tryAcquire(6) as Permit;
    expect(gate.tryAcquire(5)).toBeUndefined();
    a.release();
    a.release();
    expect(gate.inUse).toBe(0);
    expect(gate.tryAcquire(10)).toBeDefined();
  });

  it('lets work heavier than the whole gate in alone, never beside other work', () => {
    const gate = new WeightedGate(10);
    const small = gate.tryAcquire(1) as Permit;
    expect(gate.tryAcquire(50)).toBeUndefined();
    small.release();
    const heavy = gate.tryAcquire(50) as Permit;
    expect(gate.inUse).toBe(10);
    expect(gate.tryAcquire(1)).toBeUndefined();
    heavy.release();
    expect(gate.inUse).toBe(0);
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new WeightedGate(0)).toThrow(RangeError);
    expect(() => new WeightedGate(1.5)).toThrow(RangeError);
  });
});
