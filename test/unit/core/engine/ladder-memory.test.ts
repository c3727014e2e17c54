import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compressFrame } from '../../../../functions/core/engine/engine.ts';
import {
  type LadderMemory,
  mayAnswer,
  PASSED_OVER_SPEEDUP,
  rememberLadder,
} from '../../../../functions/core/engine/ladder-memory.ts';
import {
  describeCandidate,
  isScreenCandidate,
  screenCandidateKey,
} from '../../../../functions/core/engine/screen-candidates.ts';
import { createFakePort, type FakeContent, fakeClock } from './fake-port.ts';

const size = { width: 1280, height: 720 };
const screen = { ...size, frameType: 'screen' as const };
/** Flat content: lossless about 17 kB in about 18 ms, near-lossless smaller, palette larger. */
const flat: FakeContent = { complexity: -1, detail: -0.5, scaleLoss: 1.6, seed: 3 };

const LOSSLESS = 'webp-lossless@100x1';
const NEAR_80 = 'webp-near_lossless@80x1';

interface Run {
  readonly budgetBytes: number;
  readonly maxLatencyMs: number;
  readonly memory?: LadderMemory;
  readonly floor?: number;
  readonly content?: FakeContent;
}

function compressScreen(run: Run) {
  const clock = fakeClock();
  const content = run.content ?? flat;
  return compressFrame({
    frame: { ...screen, originalBytes: 1280 * 720 * 3 },
    policy: {
      mode: 'adaptive',
      targetCompressionRatio: 0.8,
      minQualityScore: run.floor ?? 0.95,
      maxLatencyMs: run.maxLatencyMs,
      allowedFormats: ['jpeg', 'webp'],
    },
    budget: { budgetBytes: run.budgetBytes },
    model: undefined,
    port: createFakePort({ frame: size, content, frameIndex: 0, clock }),
    now: clock.now,
    maxAttempts: 20,
    ladderMemory: run.memory,
  });
}

const ladderKeys = (decision: Awaited<ReturnType<typeof compressScreen>>) =>
  decision.trials.flatMap((t) =>
    isScreenCandidate(t.candidate) ? [screenCandidateKey(t.candidate)] : [],
  );

describe('what the screen ladder remembers of a content', () => {
  it('keeps the size, times and SSIM of each ladder encode, lossless at SSIM 1, and nothing of lossy ones', async () => {
    const decision = await compressScreen({ budgetBytes: 12_000, maxLatencyMs: 1000 });
    const memory = rememberLadder({}, decision.trials);
    expect(Object.keys(memory)).toEqual([LOSSLESS, NEAR_80]);
    expect(memory[LOSSLESS]?.ssim).toBe(1);
    expect(memory[LOSSLESS]?.bytes).toBeGreaterThan(12_000);
    expect(memory[NEAR_80]?.bytes).toBeLessThanOrEqual(12_000);
    expect(memory[NEAR_80]?.ssim).toBeGreaterThan(0.99);
    expect(memory[NEAR_80]?.encodeMs).toBeGreaterThan(0);
    expect(memory[NEAR_80]?.measureMs).toBeGreaterThan(0);
    expect(memory[LOSSLESS]?.measureMs).toBeUndefined();
  });

  it('replaces what it knew of an encoding tried again', async () => {
    const decision = await compressScreen({ budgetBytes: 12_000, maxLatencyMs: 1000 });
    const stale = {
      [LOSSLESS]: { bytes: 1, encodeMs: 1, ssim: 1 },
      other: { bytes: 5, encodeMs: 5 },
    };
    const memory = rememberLadder(stale, decision.trials);
    expect(memory[LOSSLESS]?.bytes).toBeGreaterThan(12_000);
    expect(memory.other).toEqual({ bytes: 5, encodeMs: 5 });
  });

  it('expects a step passed over for want of time to be quicker next time, so that it is retried', () => {
    const slow = { [NEAR_80]: { bytes: 9_000, encodeMs: 100, ssim: 0.999, measureMs: 5 } };
    const once = rememberLadder(slow, [], [NEAR_80, 'png-palette@16x1']);
    expect(once[NEAR_80]).toEqual({ ...slow[NEAR_80], encodeMs: 100 * PASSED_OVER_SPEEDUP });
    expect(once['png-palette@16x1']).toBeUndefined();
  });

  it('does not encode again a step known to be over the budget', async () => {
    const cold = await compressScreen({ budgetBytes: 12_000, maxLatencyMs: 1000 });
    expect(ladderKeys(cold)).toEqual([LOSSLESS, NEAR_80]);
    const memory = rememberLadder({}, cold.trials);
    const warm = await compressScreen({ budgetBytes: 12_000, maxLatencyMs: 1000, memory });
    expect(ladderKeys(warm)).toEqual([NEAR_80]);
    expect(warm.chosen && describeCandidate(warm.chosen.candidate)).toBe(
      'webp near_lossless 80 x1',
    );
  });

  it('does not encode again a step known to be below the floor', async () => {
    const memory = {
      [LOSSLESS]: { bytes: 1_000_000, encodeMs: 18, ssim: 1 },
      [NEAR_80]: { bytes: 1_000, encodeMs: 20, ssim: 0.9 },
    };
    const decision = await compressScreen({ budgetBytes: 12_000, maxLatencyMs: 1000, memory });
    expect(ladderKeys(decision)[0]).toBe('webp-near_lossless@60x1');
  });

  it('passes over a step the time left does not afford and tries a quicker one after it', async () => {
    // Lossless takes about 19 ms and misses. With headroom and the cold model's quickest
    // measurement, near-lossless 80 then plans about 69 ms: more than is left of the 76 ms, not more
    // than all of it; palette 256 plans about 54 ms, and leaves too little for palette 16's 33.
    const decision = await compressScreen({ budgetBytes: 5_000, maxLatencyMs: 84 });
    expect(ladderKeys(decision)).toEqual([LOSSLESS, 'png-palette@256x1']);
    expect(decision.ladderPassedOver).toEqual([NEAR_80, 'png-palette@16x1']);
  });

  it('does not count as passed over a step no whole latency budget affords', async () => {
    // Of 36 ms, only palette 16 (about 31 ms planned) is ever affordable.
    const memory = { [LOSSLESS]: { bytes: 1_000_000, encodeMs: 18, ssim: 1 } };
    const decision = await compressScreen({ budgetBytes: 5_000, maxLatencyMs: 40, memory });
    expect(ladderKeys(decision)).toEqual(['png-palette@16x1']);
    expect(decision.ladderPassedOver).toEqual([]);
    expect(decision.chosen && isScreenCandidate(decision.chosen.candidate)).toBeFalsy();
  });

  it('counts a remembered step that would answer as passed over however slow it once was', async () => {
    const over = { bytes: 1_000_000, encodeMs: 18 };
    const memory = {
      [LOSSLESS]: { ...over, ssim: 1 },
      [NEAR_80]: over,
      'webp-near_lossless@60x1': over,
      'png-palette@256x1': over,
      'png-palette@16x1': { bytes: 19_000, encodeMs: 500, ssim: 0.9989 },
    };
    const decision = await compressScreen({ budgetBytes: 40_000, maxLatencyMs: 100, memory });
    expect(ladderKeys(decision)).not.toContain('png-palette@16x1');
    expect(decision.ladderPassedOver).toEqual(['png-palette@16x1']);
  });

  it('plans a remembered step with its own time, not the prior for its kind', async () => {
    const lossless = { [LOSSLESS]: { bytes: 1_000_000, encodeMs: 60, ssim: 1 } };
    const prior = await compressScreen({ budgetBytes: 40_000, maxLatencyMs: 30, memory: lossless });
    expect(ladderKeys(prior)).toEqual([]);
    const known = {
      ...lossless,
      'png-palette@16x1': { bytes: 19_000, encodeMs: 10, ssim: 0.9989 },
    };
    const decision = await compressScreen({ budgetBytes: 40_000, maxLatencyMs: 30, memory: known });
    expect(ladderKeys(decision)).toEqual(['png-palette@16x1']);
    expect(decision.chosen && describeCandidate(decision.chosen.candidate)).toBe(
      'png palette 16 x1',
    );
    expect(decision.trials).toHaveLength(1);
  });

  it('gives a remembered content the same ladder answer with no more ladder encodes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 2_000, max: 40_000 }),
        fc.double({ min: 0.9, max: 0.9995, noNaN: true }),
        fc.double({ min: -1.5, max: -0.5, noNaN: true }),
        fc.integer({ min: 1, max: 1000 }),
        async (budgetBytes, floor, complexity, seed) => {
          const content = { ...flat, complexity, seed };
          const run = { budgetBytes, floor, content, maxLatencyMs: 1000 };
          const cold = await compressScreen(run);
          const memory = rememberLadder({}, cold.trials);
          const warm = await compressScreen({ ...run, memory });
          const answer = (d: typeof cold) =>
            d.chosen && isScreenCandidate(d.chosen.candidate)
              ? screenCandidateKey(d.chosen.candidate)
              : undefined;
          expect(answer(warm)).toBe(answer(cold));
          expect(ladderKeys(warm).length).toBeLessThanOrEqual(ladderKeys(cold).length);
          for (const key of ladderKeys(warm)) {
            const known = memory[key];
            expect(known === undefined || mayAnswer(known, budgetBytes, floor)).toBe(true);
          }
        },
      ),
      { numRuns: 60 },
    );
  });
});
