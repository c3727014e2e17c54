import { describe, expect, it } from 'vitest';
import {
  compressFrame,
  type EnginePolicy,
  MAX_LADDER_ACTIVITY,
  MIN_LADDER_FLATNESS,
} from '../../../../functions/core/engine/engine.ts';
import { coldStartModel } from '../../../../functions/core/engine/model.ts';
import {
  describeCandidate,
  isScreenCandidate,
  reportedQuality,
  screenCandidateKey,
  screenCandidates,
} from '../../../../functions/core/engine/screen-candidates.ts';
import { createFakePort, type FakeContent, fakeClock } from './fake-port.ts';

const size = { width: 1280, height: 720 };
const screen = { ...size, frameType: 'screen' as const };

describe('the screen ladder', () => {
  it('tries lossless, then near-lossless WebP, then palette PNG, all at full scale', () => {
    const ladder = screenCandidates(screen, ['jpeg', 'webp']);
    expect(ladder.map(screenCandidateKey)).toEqual([
      'webp-lossless@100x1',
      'webp-near_lossless@80x1',
      'webp-near_lossless@60x1',
      'png-palette@256x1',
      'png-palette@16x1',
    ]);
    expect(ladder.every((c) => c.scale === 1 && c.width === 1280 && c.height === 720)).toBe(true);
  });

  it('keeps only palette PNG when the policy does not allow WebP', () => {
    const ladder = screenCandidates(screen, ['jpeg', 'avif']);
    expect(ladder.map((c) => `${c.format} ${c.encoding}`)).toEqual(['png palette', 'png palette']);
  });

  it('gives video frames no ladder', () => {
    expect(screenCandidates({ ...size, frameType: 'video' }, ['jpeg', 'webp', 'avif'])).toEqual([]);
  });

  it('describes ladder and lossy candidates, and reports a quality only where one was set', () => {
    const [lossless, near, , palette] = screenCandidates(screen, ['webp']);
    const lossy = { format: 'webp', quality: 40, scale: 0.25, width: 320, height: 180 } as const;
    expect([lossless, near, palette, lossy].map((c) => c && describeCandidate(c))).toEqual([
      'webp lossless x1',
      'webp near_lossless 80 x1',
      'png palette 256 x1',
      'webp q40 x0.25',
    ]);
    expect([lossless, near, palette, lossy].map((c) => c && reportedQuality(c))).toEqual([
      null,
      80,
      null,
      40,
    ]);
  });
});

/** Flat, simple content: its lossless coding is far smaller than any lossy one at full scale. */
const flat: FakeContent = { complexity: -1, detail: -0.5, scaleLoss: 1.6, seed: 3 };

const policy = (maxLatencyMs: number, allowedFormats: EnginePolicy['allowedFormats']) => ({
  mode: 'adaptive' as const,
  targetCompressionRatio: 0.8,
  minQualityScore: 0.95,
  maxLatencyMs,
  allowedFormats,
});

async function compressScreen(
  maxLatencyMs: number,
  budgetBytes = 30_000,
  activity?: number,
  options: {
    flatness?: number;
    fullScaleOnly?: boolean;
    screenLadder?: boolean;
    onlyWithinBudget?: boolean;
  } = {},
) {
  const clock = fakeClock();
  const fake = createFakePort({ frame: size, content: flat, frameIndex: 0, clock });
  const { flatness } = options;
  const port = {
    ...fake,
    ...(activity === undefined ? {} : { activity: () => activity }),
    ...(flatness === undefined ? {} : { flatness: () => flatness }),
  };
  const decision = await compressFrame({
    frame: { ...screen, originalBytes: 1280 * 720 * 3 },
    policy: policy(maxLatencyMs, ['jpeg', 'webp']),
    budget: { budgetBytes },
    model: undefined,
    port,
    now: clock.now,
    fullScaleOnly: options.fullScaleOnly,
    screenLadder: options.screenLadder,
    onlyWithinBudget: options.onlyWithinBudget,
  });
  return { decision, port };
}

describe('the screen ladder in the engine', () => {
  it('sends a screen frame losslessly when lossless fits, without a lossy encode', async () => {
    const { decision, port } = await compressScreen(100);
    expect(decision.status).toBe('success');
    expect(decision.withinBudget).toBe(true);
    expect(decision.chosen?.ssim).toBe(1);
    expect(decision.chosen && describeCandidate(decision.chosen.candidate)).toBe(
      'webp lossless x1',
    );
    expect(port.encodes).toHaveLength(1);
    expect(decision.encodeAttempts).toBe(1);
    expect(decision.trials).toHaveLength(1);
  });

  it('records ladder trials but teaches the model nothing from them', async () => {
    const { decision } = await compressScreen(100);
    expect(decision.trials).toHaveLength(1);
    const { bytes, distortion, encodeMsPerMp, measureMsPerMp, residuals, observations } =
      decision.model;
    const cold = coldStartModel(undefined);
    expect({ bytes, distortion, encodeMsPerMp, measureMsPerMp, residuals, observations }).toEqual({
      bytes: cold.bytes,
      distortion: cold.distortion,
      encodeMsPerMp: cold.encodeMsPerMp,
      measureMsPerMp: cold.measureMsPerMp,
      residuals: cold.residuals,
      observations: cold.observations,
    });
  });

  it('moves down the ladder when lossless does not fit, and to the lossy search when nothing does', async () => {
    const clock = fakeClock();
    const port = createFakePort({ frame: size, content: flat, frameIndex: 0, clock });
    const decision = await compressFrame({
      frame: { ...screen, originalBytes: 1280 * 720 * 3 },
      policy: policy(1000, ['jpeg', 'webp']),
      budget: { budgetBytes: 2_000 },
      model: undefined,
      port,
      now: clock.now,
      maxAttempts: 20,
    });
    const ladderTries = decision.trials.filter((t) => isScreenCandidate(t.candidate));
    expect(ladderTries).toHaveLength(5);
    expect(decision.trials.length).toBeGreaterThan(5);
    expect(decision.trials.slice(5).every((t) => !isScreenCandidate(t.candidate))).toBe(true);
  });

  it('skips the ladder on a frame too busy for lossless coding, a photo inside the shared screen', async () => {
    const busy = await compressScreen(100, 30_000, MAX_LADDER_ACTIVITY + 1);
    expect(busy.decision.trials.some((t) => isScreenCandidate(t.candidate))).toBe(false);
    const flatScreen = await compressScreen(100, 30_000, MAX_LADDER_ACTIVITY);
    expect(flatScreen.decision.trials.some((t) => isScreenCandidate(t.candidate))).toBe(true);
  });

  it('tries the ladder on a busy frame that is flat, a page of dense text', async () => {
    const text = await compressScreen(100, 30_000, MAX_LADDER_ACTIVITY + 4, {
      flatness: MIN_LADDER_FLATNESS,
    });
    expect(text.decision.trials.some((t) => isScreenCandidate(t.candidate))).toBe(true);
    const photo = await compressScreen(100, 30_000, MAX_LADDER_ACTIVITY + 4, {
      flatness: MIN_LADDER_FLATNESS - 0.01,
    });
    expect(photo.decision.trials.some((t) => isScreenCandidate(t.candidate))).toBe(false);
  });

  it('encodes nothing below full scale when asked for full scale only', async () => {
    const { decision } = await compressScreen(1000, 500, undefined, {
      fullScaleOnly: true,
      screenLadder: false,
    });
    expect(decision.trials.length).toBeGreaterThan(0);
    expect(decision.trials.every((t) => t.candidate.scale === 1)).toBe(true);
    expect(decision.withinBudget).toBe(false);
  });

  it('looks for no encoding over the budget when nothing over it will be sent', async () => {
    const run = (onlyWithinBudget: boolean) => {
      const clock = fakeClock();
      return compressFrame({
        frame: { ...screen, originalBytes: 1280 * 720 * 3 },
        policy: policy(1000, ['jpeg', 'webp']),
        budget: { budgetBytes: 10 },
        model: undefined,
        port: createFakePort({ frame: size, content: flat, frameIndex: 0, clock }),
        now: clock.now,
        maxAttempts: 30,
        screenLadder: false,
        onlyWithinBudget,
      });
    };
    const [plain, within] = [await run(false), await run(true)];
    // Nothing fits either way: the caller drops the frame, whatever the decision says about it.
    expect(within.withinBudget).toBe(false);
    if (within.status === 'fallback') expect(within.fallbackReason).toBe('no_candidate_fits');
    const measured = (d: typeof plain) => d.trials.filter((t) => t.measurement).length;
    expect(measured(within)).toBeLessThan(measured(plain));
    expect(within.encodeAttempts).toBeLessThanOrEqual(plain.encodeAttempts);
  });

  it('skips the ladder when the latency budget cannot afford its first encode', async () => {
    const { decision } = await compressScreen(5);
    expect(decision.trials.some((t) => isScreenCandidate(t.candidate))).toBe(false);
  });
});
