import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { OutputFormat } from '../../../../functions/core/contracts/config.ts';
import type { FrameType } from '../../../../functions/core/engine/candidates.ts';
import {
  type CompressionDecision,
  compressFrame,
  DEFAULT_MAX_ATTEMPTS,
  type EnginePolicy,
} from '../../../../functions/core/engine/engine.ts';
import { type EngineModel, predict, startFrame } from '../../../../functions/core/engine/model.ts';
import { CONFIDENCE_Z, SINGLE_SHOT_Z } from '../../../../functions/core/engine/next-candidate.ts';
import { exhaustiveSearch } from '../../../../functions/core/engine/oracle.ts';
import { isScreenCandidate } from '../../../../functions/core/engine/screen-candidates.ts';
import { createFakePort, type FakeContent, fakeClock } from './fake-port.ts';

interface Scenario {
  width: number;
  height: number;
  frameType: FrameType;
  content: FakeContent;
  formats: OutputFormat[];
  floor: number;
  /** Budget as a share of the raw frame size, log-uniform. */
  budgetShare: number;
  /** Frames of other content the model saw first (0: cold start). */
  warmFrames: number;
}

const contents = fc.record({
  complexity: fc.double({ min: -1.2, max: 1.2, noNaN: true }),
  detail: fc.double({ min: -1, max: 1, noNaN: true }),
  scaleLoss: fc.double({ min: 0.6, max: 1.6, noNaN: true }),
  seed: fc.integer({ min: 0, max: 1_000_000 }),
});

const scenarios: fc.Arbitrary<Scenario> = fc.record({
  width: fc.integer({ min: 160, max: 1920 }),
  height: fc.integer({ min: 90, max: 1080 }),
  frameType: fc.constantFrom<FrameType>('video', 'screen'),
  content: contents,
  formats: fc.subarray<OutputFormat>(['jpeg', 'webp', 'avif'], { minLength: 1 }),
  floor: fc.double({ min: 0.5, max: 0.995, noNaN: true }),
  budgetShare: fc.double({ min: Math.log(0.001), max: Math.log(0.5), noNaN: true }).map(Math.exp),
  warmFrames: fc.constantFrom(0, 0, 3),
});

function policyOf(s: Scenario, overrides: Partial<EnginePolicy> = {}): EnginePolicy {
  return {
    mode: 'adaptive',
    targetCompressionRatio: 0.8,
    minQualityScore: s.floor,
    // Ample: the rules hold when neither time nor attempts cut the search short.
    maxLatencyMs: 60_000,
    allowedFormats: s.formats,
    ...overrides,
  };
}

function frameOf(s: Scenario) {
  return {
    width: s.width,
    height: s.height,
    originalBytes: s.width * s.height * 3,
    frameType: s.frameType,
  };
}

function budgetOf(s: Scenario): number {
  return Math.max(1, Math.floor(s.width * s.height * 3 * s.budgetShare));
}

/** A model trained on a few frames of unrelated content, so that it starts out wrong. */
async function warmModel(s: Scenario): Promise<EngineModel | undefined> {
  let model: EngineModel | undefined;
  const other = { ...s.content, complexity: -s.content.complexity, seed: s.content.seed + 1 };
  for (let i = 0; i < s.warmFrames; i++) {
    const clock = fakeClock();
    const decision = await compressFrame({
      frame: frameOf(s),
      policy: policyOf(s),
      budget: { budgetBytes: budgetOf(s) },
      model,
      port: createFakePort({ frame: s, content: other, frameIndex: i, clock, timeScale: 0.001 }),
      now: clock.now,
      maxAttempts: Number.POSITIVE_INFINITY,
    });
    model = decision.model;
  }
  return model;
}

/** The engine with no attempt limit and time to spare, next to the oracle on the same frame. */
async function engineAndOracle(s: Scenario, parallelEncodes = 1) {
  const clock = fakeClock();
  const port = createFakePort({
    frame: s,
    content: s.content,
    frameIndex: 99,
    clock,
    timeScale: 0.001,
  });
  const decision = await compressFrame({
    frame: frameOf(s),
    policy: policyOf(s),
    budget: { budgetBytes: budgetOf(s) },
    model: await warmModel(s),
    port,
    now: clock.now,
    maxAttempts: Number.POSITIVE_INFINITY,
    parallelEncodes,
  });
  const oracle = await exhaustiveSearch({
    frame: { ...s, frameType: s.frameType },
    allowedFormats: s.formats,
    budgetBytes: budgetOf(s),
    minQualityScore: s.floor,
    port: createFakePort({ frame: s, content: s.content, frameIndex: 99 }),
  });
  return { decision, oracle, port };
}

function expectWellFormed(decision: CompressionDecision, s: Scenario, budgetBytes: number) {
  if (decision.status === 'success' && decision.chosen) {
    const { chosen } = decision;
    // Palette PNG is the screen ladder's own output, outside the policy's lossy formats.
    if (chosen.candidate.format !== 'png') expect(s.formats).toContain(chosen.candidate.format);
    expect(chosen.ssim).toBeGreaterThanOrEqual(s.floor);
    expect(decision.withinBudget).toBe(chosen.bytes <= budgetBytes);
    if (chosen.candidate.scale < 1) {
      expect(chosen.width).toBeGreaterThanOrEqual(160);
      expect(chosen.height).toBeGreaterThanOrEqual(90);
    }
    expect(decision.fallbackReason).toBeUndefined();
  } else {
    expect(decision.status).toBe('fallback');
    expect(decision.chosen).toBeUndefined();
    expect(decision.fallbackReason).toBeDefined();
  }
  expect(decision.encodeAttempts).toBe(decision.trials.length);
}

describe('compression engine rules (no attempt limit, ample time)', () => {
  it('is never above the budget when some candidate within the budget meets the floor', async () => {
    await fc.assert(
      fc.asyncProperty(scenarios, async (s) => {
        const { decision, oracle } = await engineAndOracle(s);
        expectWellFormed(decision, s, budgetOf(s));
        if (oracle.selection?.withinBudget) {
          expect(decision.status).toBe('success');
          expect(decision.withinBudget).toBe(true);
          expect(decision.chosen?.bytes).toBeLessThanOrEqual(budgetOf(s));
        }
      }),
      { numRuns: 150 },
    );
  });

  it('keeps those rules with two encodes at once', async () => {
    await fc.assert(
      fc.asyncProperty(scenarios, async (s) => {
        const { decision, oracle } = await engineAndOracle(s, 2);
        expectWellFormed(decision, s, budgetOf(s));
        if (oracle.selection?.withinBudget) {
          expect(decision.withinBudget).toBe(true);
          expect(decision.chosen?.bytes).toBeLessThanOrEqual(budgetOf(s));
        }
      }),
      { numRuns: 100 },
    );
  });

  it('reports withinBudget false only when no candidate fits the budget and meets the floor', async () => {
    await fc.assert(
      fc.asyncProperty(scenarios, async (s) => {
        const { decision, oracle } = await engineAndOracle(s);
        if (decision.status === 'success' && !decision.withinBudget) {
          expect(oracle.selection?.withinBudget).toBe(false);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('falls back exactly when no candidate meets the floor, and says so', async () => {
    await fc.assert(
      fc.asyncProperty(scenarios, async (s) => {
        const { decision, oracle } = await engineAndOracle(s);
        // The oracle searches the lossy grid; a screen frame may also succeed where it cannot, with a
        // screen ladder encoding (lossless, near-lossless, palette) that meets the floor.
        const ladderWon =
          decision.chosen !== undefined && isScreenCandidate(decision.chosen.candidate);
        if (!ladderWon) expect(decision.status === 'fallback').toBe(oracle.selection === undefined);
        if (decision.status === 'fallback') {
          expect(decision.fallbackReason).toBe('quality_floor_unreachable');
        }
      }),
      { numRuns: 100 },
    );
  });

  it('keeps screen content at scale 1 whenever a scale-1 candidate fits and meets the floor', async () => {
    await fc.assert(
      fc.asyncProperty(
        scenarios.map((s) => ({ ...s, frameType: 'screen' as const })),
        async (s) => {
          const { decision, oracle } = await engineAndOracle(s);
          const fullSizeFits = oracle.encodings.some(
            (e) => e.candidate.scale === 1 && e.ssim >= s.floor && e.bytes <= budgetOf(s),
          );
          if (fullSizeFits) expect(decision.chosen?.candidate.scale).toBe(1);
        },
      ),
      { numRuns: 100 },
    );
  });

  it('chooses within 3 % of the oracle SSIM when a candidate fits', async () => {
    const ratios: number[] = [];
    await fc.assert(
      fc.asyncProperty(scenarios, async (s) => {
        const { decision, oracle } = await engineAndOracle(s);
        if (oracle.selection?.withinBudget && decision.chosen) {
          ratios.push(decision.chosen.ssim / oracle.selection.chosen.ssim);
        }
      }),
      { numRuns: 100 },
    );
    const mean = ratios.reduce((a, b) => a + b, 0) / ratios.length;
    expect(mean).toBeGreaterThanOrEqual(0.97);
  });
});

describe('compression engine limits and failures', () => {
  it('keeps every decision well formed and within the default attempt limit', async () => {
    await fc.assert(
      fc.asyncProperty(scenarios, fc.integer({ min: 5, max: 40 }), async (s, maxLatencyMs) => {
        const clock = fakeClock();
        const decision = await compressFrame({
          frame: frameOf(s),
          policy: policyOf(s, { maxLatencyMs }),
          budget: { budgetBytes: budgetOf(s) },
          model: undefined,
          port: createFakePort({ frame: s, content: s.content, frameIndex: 0, clock }),
          now: clock.now,
        });
        expectWellFormed(decision, s, budgetOf(s));
        expect(decision.encodeAttempts).toBeLessThanOrEqual(DEFAULT_MAX_ATTEMPTS);
      }),
      { numRuns: 100 },
    );
  });

  it('never encodes in mode off and passes the frame through', async () => {
    await fc.assert(
      fc.asyncProperty(scenarios, async (s) => {
        const clock = fakeClock();
        const port = createFakePort({ frame: s, content: s.content, frameIndex: 0, clock });
        const decision = await compressFrame({
          frame: frameOf(s),
          policy: policyOf(s, { mode: 'off' }),
          budget: { budgetBytes: budgetOf(s) },
          model: undefined,
          port,
          now: clock.now,
        });
        expect(port.encodes).toHaveLength(0);
        expect(port.measures).toHaveLength(0);
        expect(decision).toMatchObject({
          status: 'success',
          passthrough: true,
          encodeAttempts: 0,
          trials: [],
        });
        expect(decision.chosen).toBeUndefined();
      }),
      { numRuns: 50 },
    );
  });

  it('starts no encode after the latency budget is spent', async () => {
    await fc.assert(
      fc.asyncProperty(scenarios, fc.integer({ min: 5, max: 30 }), async (s, maxLatencyMs) => {
        const clock = fakeClock();
        const start = clock.now();
        const port = createFakePort({ frame: s, content: s.content, frameIndex: 0, clock });
        await compressFrame({
          frame: frameOf(s),
          policy: policyOf(s, { maxLatencyMs }),
          budget: { budgetBytes: budgetOf(s) },
          model: undefined,
          port,
          now: clock.now,
          maxAttempts: Number.POSITIVE_INFINITY,
        });
        for (const startedAt of port.encodeStarts) {
          expect(startedAt - start).toBeLessThan(maxLatencyMs);
        }
      }),
      { numRuns: 100 },
    );
  });

  it('does not try AVIF where its encode time cannot fit the latency budget', async () => {
    const s = { width: 1920, height: 1080 };
    const clock = fakeClock();
    const port = createFakePort({
      frame: s,
      content: { complexity: 0, detail: 0, scaleLoss: 1, seed: 1 },
      frameIndex: 0,
      clock,
    });
    const decision = await compressFrame({
      frame: { ...s, originalBytes: 2_000_000, frameType: 'video' },
      policy: {
        mode: 'adaptive',
        targetCompressionRatio: 0.8,
        minQualityScore: 0.85,
        maxLatencyMs: 20,
        allowedFormats: ['jpeg', 'avif'],
      },
      budget: { budgetBytes: 40_000 },
      model: undefined,
      port,
      now: clock.now,
    });
    expect(port.encodes.some((c) => c.format === 'avif')).toBe(false);
    expect(decision.status).toBe('success');
  });

  it('encodes a second candidate beside one it is unsure of only when two encodes can run at once', async () => {
    const s = { width: 1280, height: 720 };
    const content = { complexity: 0.4, detail: 0.2, scaleLoss: 1, seed: 7 };
    const run = async (parallelEncodes: number) => {
      const port = createFakePort({ frame: s, content, frameIndex: 0 });
      let inFlight = 0;
      let most = 0;
      const encode = port.encode.bind(port);
      port.encode = async (candidate) => {
        inFlight++;
        most = Math.max(most, inFlight);
        await Promise.resolve();
        try {
          return await encode(candidate);
        } finally {
          inFlight--;
        }
      };
      const decision = await compressFrame({
        frame: { ...s, originalBytes: 400_000, frameType: 'video' },
        policy: {
          mode: 'adaptive',
          targetCompressionRatio: 0.8,
          minQualityScore: 0.85,
          maxLatencyMs: 60_000,
          allowedFormats: ['jpeg', 'webp'],
        },
        budget: { budgetBytes: 9_000 },
        model: undefined,
        port,
        now: () => 0,
        maxAttempts: Number.POSITIVE_INFINITY,
        parallelEncodes,
      });
      return { decision, most };
    };
    const alone = await run(1);
    const paired = await run(2);
    expect(alone.most).toBe(1);
    expect(paired.most).toBe(2);
    // Nothing fits here: both end at the same smallest encoding over the budget that meets the floor.
    expect(paired.decision.chosen?.bytes).toBe(alone.decision.chosen?.bytes);
    expect(paired.decision.withinBudget).toBe(false);
  });

  it('makes exactly one encode of the fastest candidate when nothing can be encoded in time', async () => {
    const s = { width: 1920, height: 1080 };
    const clock = fakeClock();
    const port = createFakePort({
      frame: s,
      content: { complexity: 0, detail: 0, scaleLoss: 1, seed: 1 },
      frameIndex: 0,
      clock,
    });
    const decision = await compressFrame({
      frame: { ...s, originalBytes: 2_000_000, frameType: 'video' },
      policy: {
        mode: 'adaptive',
        targetCompressionRatio: 0.8,
        minQualityScore: 0.85,
        maxLatencyMs: 5,
        allowedFormats: ['avif'],
      },
      budget: { budgetBytes: 40_000 },
      model: undefined,
      port,
      now: clock.now,
    });
    // One quick encode rather than the original, which would miss the byte budget 50-fold.
    expect(decision.encodeAttempts).toBe(1);
    expect(decision.trials[0]?.candidate.format).toBe('avif');
    if (decision.status === 'fallback')
      expect(decision.fallbackReason).toBe('latency_budget_exhausted');
  });

  it('aims two deviations under the budget when the time left allows a single encode', async () => {
    const size = { width: 1280, height: 720 };
    const frame = { ...size, originalBytes: 1_000_000, frameType: 'video' as const };
    const content = { complexity: 0.3, detail: 0.2, scaleLoss: 1, seed: 5 };
    const policy = (maxLatencyMs: number): EnginePolicy => ({
      mode: 'adaptive',
      targetCompressionRatio: 0.8,
      minQualityScore: 0.85,
      maxLatencyMs,
      allowedFormats: ['jpeg'],
    });
    const budget = { budgetBytes: 28_000 };
    const run = async (model: EngineModel | undefined, frameIndex: number, latencyMs: number) => {
      const clock = fakeClock();
      const port = createFakePort({ frame: size, content, frameIndex, clock });
      return compressFrame({
        frame,
        policy: policy(latencyMs),
        budget,
        model,
        port,
        now: clock.now,
      });
    };
    let model: EngineModel | undefined;
    for (let i = 0; i < 12; i++) model = (await run(model, i, 100)).model;
    const warmed = startFrame(model as EngineModel);
    const zBytes = (decision: CompressionDecision) => {
      const candidate = decision.trials[0]?.candidate;
      if (candidate === undefined || isScreenCandidate(candidate))
        throw new Error('no lossy encode');
      const p = predict(warmed, candidate, size);
      return (Math.log(budget.budgetBytes) - p.logBytes) / p.logBytesSd;
    };
    const roomy = await run(model, 12, 100);
    // Just the time for the candidate the roomy search tried first: no second encode would fit.
    const first = roomy.trials[0]?.candidate;
    if (first === undefined || isScreenCandidate(first)) throw new Error('no lossy encode');
    const p = predict(warmed, first, size);
    const single = await run(model, 12, 1.02 * (p.encodeMs + p.measureMs));
    expect(zBytes(roomy)).toBeGreaterThanOrEqual(CONFIDENCE_Z);
    expect(zBytes(roomy)).toBeLessThan(SINGLE_SHOT_Z);
    expect(zBytes(single)).toBeGreaterThanOrEqual(SINGLE_SHOT_Z);
    expect(single.encodeAttempts).toBe(1);
    expect(single.withinBudget).toBe(true);
  });

  it('falls back with quality_floor_unreachable when the floor is out of reach', async () => {
    const s = { width: 640, height: 360 };
    const clock = fakeClock();
    const decision = await compressFrame({
      frame: { ...s, originalBytes: 300_000, frameType: 'video' },
      policy: {
        mode: 'conservative',
        targetCompressionRatio: 0.5,
        minQualityScore: 0.9999,
        maxLatencyMs: 100,
        allowedFormats: ['jpeg', 'webp'],
      },
      budget: { budgetBytes: 150_000 },
      model: undefined,
      port: createFakePort({
        frame: s,
        content: { complexity: 0, detail: 0, scaleLoss: 1, seed: 1 },
        frameIndex: 0,
        clock,
        timeScale: 0.01,
      }),
      now: clock.now,
      maxAttempts: Number.POSITIVE_INFINITY,
    });
    expect(decision.status).toBe('fallback');
    expect(decision.fallbackReason).toBe('quality_floor_unreachable');
    // An encode under the floor rules out everything below it in its format, so a few suffice.
    expect(decision.encodeAttempts).toBeLessThanOrEqual(4);
  });

  it('uses the formats that work when one encoder fails', async () => {
    const s = { width: 640, height: 360 };
    const clock = fakeClock();
    const decision = await compressFrame({
      frame: { ...s, originalBytes: 300_000, frameType: 'video' },
      policy: {
        mode: 'adaptive',
        targetCompressionRatio: 0.8,
        minQualityScore: 0.85,
        maxLatencyMs: 100,
        allowedFormats: ['jpeg', 'webp'],
      },
      budget: { budgetBytes: 20_000 },
      model: undefined,
      port: createFakePort({
        frame: s,
        content: { complexity: 0, detail: 0, scaleLoss: 1, seed: 1 },
        frameIndex: 0,
        clock,
        failingFormats: ['webp'],
      }),
      now: clock.now,
    });
    expect(decision.status).toBe('success');
    expect(decision.chosen?.candidate.format).toBe('jpeg');
  });

  it('falls back with encoder_error when every encode or measurement fails', async () => {
    const s = { width: 640, height: 360 };
    for (const failure of [
      { failingFormats: ['jpeg', 'webp'] as OutputFormat[] },
      { failMeasure: true },
    ]) {
      const clock = fakeClock();
      const decision = await compressFrame({
        frame: { ...s, originalBytes: 300_000, frameType: 'video' },
        policy: {
          mode: 'adaptive',
          targetCompressionRatio: 0.8,
          minQualityScore: 0.85,
          maxLatencyMs: 100,
          allowedFormats: ['jpeg', 'webp'],
        },
        budget: { budgetBytes: 20_000 },
        model: undefined,
        port: createFakePort({
          frame: s,
          content: { complexity: 0, detail: 0, scaleLoss: 1, seed: 1 },
          frameIndex: 0,
          clock,
          ...failure,
        }),
        now: clock.now,
      });
      expect(decision.status).toBe('fallback');
      expect(decision.fallbackReason).toBe('encoder_error');
    }
  });

  it('rejects a frame, budget or attempt limit that makes no sense', async () => {
    const clock = fakeClock();
    const base = {
      frame: { width: 640, height: 360, originalBytes: 1000, frameType: 'video' as const },
      policy: {
        mode: 'adaptive' as const,
        targetCompressionRatio: 0.8,
        minQualityScore: 0.85,
        maxLatencyMs: 20,
        allowedFormats: ['jpeg'] as OutputFormat[],
      },
      budget: { budgetBytes: 100 },
      model: undefined,
      port: createFakePort({
        frame: { width: 640, height: 360 },
        content: { complexity: 0, detail: 0, scaleLoss: 1, seed: 1 },
        frameIndex: 0,
      }),
      now: clock.now,
    };
    await expect(compressFrame({ ...base, frame: { ...base.frame, width: 0 } })).rejects.toThrow(
      RangeError,
    );
    await expect(compressFrame({ ...base, budget: { budgetBytes: Number.NaN } })).rejects.toThrow(
      RangeError,
    );
    await expect(compressFrame({ ...base, maxAttempts: 0 })).rejects.toThrow(RangeError);
  });
});
