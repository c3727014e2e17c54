import { describe, expect, it } from 'vitest';
import type { OutputFormat } from '../../../../functions/core/contracts/config.ts';
import {
  type Candidate,
  enumerateCandidates,
  outputSize,
} from '../../../../functions/core/engine/candidates.ts';
import {
  coldStartModel,
  ENGINE_MODEL_VERSION,
  type EngineModel,
  engineModelSchema,
  expectLadderStep,
  initialModel,
  observeEncode,
  observeLadderStep,
  observeMeasurement,
  predict,
  restoreModel,
  startFrame,
} from '../../../../functions/core/engine/model.ts';

const frame = { width: 1280, height: 720 };

function candidate(format: OutputFormat, quality: number, scale: number): Candidate {
  return { format, quality, scale, ...outputSize(frame, scale) };
}

/** A session content: bytes and SSIM as the fake encoder of the engine tests would give them. */
function observeMany(model: EngineModel, logBppOffset: number, frames: number): EngineModel {
  let m = model;
  for (let i = 0; i < frames; i++) {
    m = startFrame(m);
    const c = candidate('jpeg', 60 + 5 * (i % 4), i % 2 === 0 ? 0.5 : 0.75);
    const u = c.quality / 100;
    const bytes = c.width * c.height * Math.exp(logBppOffset - 3.9 + 3.4 * u ** 1.7);
    m = observeEncode(m, c, frame, { bytes, encodeMs: 4 });
    m = observeMeasurement(m, c, frame, { ssim: 1 - Math.exp(-1.5 - 3.6 * u), measureMs: 2 });
  }
  return m;
}

describe('engine model', () => {
  it('starts from priors that pass its own schema and survive a JSON round trip', () => {
    const model = initialModel();
    expect(model.version).toBe(ENGINE_MODEL_VERSION);
    expect(engineModelSchema.safeParse(model).success).toBe(true);
    const restored = restoreModel(JSON.parse(JSON.stringify(observeMany(model, 0, 5))));
    expect(restored.restored).toBe(true);
    expect(restored.model).toEqual(observeMany(model, 0, 5));
  });

  it('stays small enough to keep in Redis per session', () => {
    expect(JSON.stringify(observeMany(initialModel(), 0.5, 30)).length).toBeLessThan(4096);
  });

  it('rejects a corrupt, truncated or old cached model and uses the priors instead', () => {
    const good = JSON.parse(JSON.stringify(observeMany(initialModel(), 0.3, 3)));
    const corrupt: unknown[] = [
      null,
      'not a model',
      {},
      { ...good, version: ENGINE_MODEL_VERSION + 1 },
      { ...good, version: 0 },
      { ...good, bytes: { ...good.bytes, theta: good.bytes.theta.slice(1) } },
      { ...good, bytes: { ...good.bytes, theta: [null, 0, 0, 0, 0, 0] } },
      {
        ...good,
        distortion: { ...good.distortion, covariance: good.distortion.covariance.map(() => -1) },
      },
      { ...good, distortion: { ...good.distortion, noiseVariance: 0 } },
      { ...good, encodeMsPerMp: { jpeg: 8, webp: 30 } },
      { ...good, measureMsPerMp: -1 },
      { ...good, measureMsPerMp: { ...good.measureMsPerMp, webp: -1 } },
      { ...good, frames: 1.5 },
      { ...good, extra: true },
    ];
    for (const cached of corrupt) {
      const { model, restored } = restoreModel(cached);
      expect(restored).toBe(false);
      expect(model).toEqual(initialModel());
    }
  });

  it('predicts more bytes and a higher SSIM for a higher quality or a larger scale', () => {
    // The regressions are monotone; remembered residuals are per candidate and may break ties.
    const learned = { ...observeMany(initialModel(), 0.8, 20), residuals: [] };
    for (const model of [initialModel(), learned]) {
      for (const format of ['jpeg', 'webp', 'avif'] as const) {
        const grid = enumerateCandidates(frame, [format]);
        for (const a of grid) {
          for (const b of grid) {
            if (
              a.quality > b.quality ||
              a.scale > b.scale ||
              (a.quality === b.quality && a.scale === b.scale)
            )
              continue;
            const pa = predict(model, a, frame);
            const pb = predict(model, b, frame);
            expect(pb.logBytes).toBeGreaterThan(pa.logBytes);
            expect(pb.ssim).toBeGreaterThanOrEqual(pa.ssim);
          }
        }
      }
    }
  });

  it('learns the content: after a few frames it predicts the size within 10 %', () => {
    const model = observeMany(initialModel(), 1.2, 12);
    const c = candidate('jpeg', 65, 0.5);
    const actual = c.width * c.height * Math.exp(1.2 - 3.9 + 3.4 * 0.65 ** 1.7);
    const cold = Math.exp(predict(initialModel(), c, frame).logBytes);
    const warm = Math.exp(predict(model, c, frame).logBytes);
    expect(Math.abs(cold - actual) / actual).toBeGreaterThan(0.5);
    expect(Math.abs(warm - actual) / actual).toBeLessThan(0.1);
    expect(predict(model, c, frame).logBytesSd).toBeLessThan(
      predict(initialModel(), c, frame).logBytesSd,
    );
  });

  it('remembers what the curves cannot fit at a candidate it has seen, and forgets it at a scene cut', () => {
    const settled = observeMany(initialModel(), 0, 20);
    // Quality 95 costs far more than the smooth curve through qualities 60 to 75 expects.
    const top = candidate('jpeg', 95, 0.5);
    const actual = 2 * Math.exp(predict(startFrame(settled), top, frame).logBytes);
    const seen = observeEncode(startFrame(settled), top, frame, { bytes: actual, encodeMs: 4 });
    const later = startFrame(startFrame(seen));
    expect(Math.abs(predict(later, top, frame).logBytes - Math.log(actual))).toBeLessThan(0.05);
    expect(later.residuals.map((r) => r.key)).toContain('jpeg@95x0.5');

    const c = candidate('jpeg', 70, 0.5);
    const busier = c.width * c.height * Math.exp(2 - 3.9 + 3.4 * 0.7 ** 1.7);
    const cut = observeEncode(later, c, frame, { bytes: busier, encodeMs: 4 });
    expect(cut.residuals.map((r) => r.key)).toEqual(['jpeg@70x0.5']);
  });

  it('starts a busier frame from more bytes and a lower SSIM, more surely than the bare priors', () => {
    const c = candidate('jpeg', 60, 0.5);
    const calm = predict(coldStartModel(0.5), c, frame);
    const busy = predict(coldStartModel(40), c, frame);
    expect(busy.logBytes).toBeGreaterThan(calm.logBytes + 1);
    expect(busy.ssim).toBeLessThan(calm.ssim);
    const bare = predict(initialModel(), c, frame);
    expect(busy.logBytesSd).toBeLessThan(bare.logBytesSd);
    expect(busy.logDistortionSd).toBeLessThan(bare.logDistortionSd);
    for (const activity of [0, 0.5, 40, 255]) {
      expect(engineModelSchema.safeParse(coldStartModel(activity)).success).toBe(true);
    }
    expect(coldStartModel(undefined)).toEqual(initialModel());
    expect(coldStartModel(Number.NaN)).toEqual(initialModel());
  });

  it('carries what one format taught it over to the others', () => {
    const model = observeMany(initialModel(), 1.2, 12);
    const webp = candidate('webp', 65, 0.5);
    const before = predict(initialModel(), webp, frame).logBytes;
    expect(predict(model, webp, frame).logBytes - before).toBeGreaterThan(0.8);
  });

  it('follows a scene cut in one observation instead of averaging it away', () => {
    const settled = observeMany(initialModel(), 0, 20);
    const c = candidate('jpeg', 70, 0.5);
    const u = 0.7;
    const busier = c.width * c.height * Math.exp(1.5 - 3.9 + 3.4 * u ** 1.7);
    const after = observeEncode(startFrame(settled), c, frame, { bytes: busier, encodeMs: 4 });
    expect(Math.abs(predict(after, c, frame).logBytes - Math.log(busier))).toBeLessThan(0.1);
  });

  it('learns encode time per format and measure time', () => {
    let model = initialModel();
    const c = candidate('avif', 50, 0.5);
    for (let i = 0; i < 10; i++) {
      model = observeEncode(model, c, frame, { bytes: 10_000, encodeMs: 5 });
      model = observeMeasurement(model, c, frame, { ssim: 0.95, measureMs: 1 });
    }
    const p = predict(model, c, frame);
    expect(p.encodeMs).toBeCloseTo(5, 0);
    expect(p.measureMs).toBeCloseTo(1, 0);
  });

  it('times a downscaled encode with the resize it needs, so a larger scale does not look slower than it is', () => {
    let model = initialModel();
    const quarter = candidate('jpeg', 75, 0.25);
    const half = candidate('jpeg', 75, 0.5);
    // A quarter-scale encode of a 720p frame: mostly the resize, which reads the whole frame.
    for (let i = 0; i < 10; i++)
      model = observeEncode(model, quarter, frame, { bytes: 9_000, encodeMs: 4 });
    const outputs = (half.width * half.height) / (quarter.width * quarter.height);
    const ratio = predict(model, half, frame).encodeMs / predict(model, quarter, frame).encodeMs;
    expect(predict(model, quarter, frame).encodeMs).toBeCloseTo(4, 0);
    expect(ratio).toBeGreaterThan(1);
    expect(ratio).toBeLessThan(outputs / 2);
  });

  it('ignores observations that are not numbers', () => {
    const model = initialModel();
    const c = candidate('jpeg', 50, 1);
    expect(observeEncode(model, c, frame, { bytes: Number.NaN, encodeMs: 1 })).toBe(model);
    expect(observeMeasurement(model, c, frame, { ssim: Number.NaN, measureMs: 1 })).toBe(model);
  });

  it('keeps what each screen ladder step came to on the session, and forgets it at a scene cut', () => {
    const settled = observeMany(initialModel(), 0, 10);
    const lossless = 'webp-lossless@100x1';
    expect(expectLadderStep(settled, lossless, frame)).toBeUndefined();
    let model = observeLadderStep(settled, lossless, frame, { bytes: 90_000, encodeMs: 30 });
    model = observeLadderStep(model, lossless, frame, { bytes: 110_000, encodeMs: 40 });
    const expected = expectLadderStep(model, lossless, frame);
    expect(expected?.bytes).toBeGreaterThan(90_000);
    expect(expected?.bytes).toBeLessThan(110_000);
    expect(expected?.encodeMs).toBeGreaterThan(30);
    expect(expected?.encodeMs).toBeLessThan(40);
    expect(expectLadderStep(model, lossless, { width: 640, height: 360 })?.bytes).toBeCloseTo(
      (expected?.bytes ?? 0) / 4,
      6,
    );
    expect(restoreModel(JSON.parse(JSON.stringify(model))).model).toEqual(model);
    const c = candidate('jpeg', 70, 0.5);
    const huge = 50 * Math.exp(predict(startFrame(model), c, frame).logBytes);
    const cut = observeEncode(startFrame(model), c, frame, { bytes: huge, encodeMs: 4 });
    expect(expectLadderStep(cut, lossless, frame)).toBeUndefined();
  });

  it('keeps at most eight ladder steps, the most recently encoded', () => {
    let model = initialModel();
    for (let level = 1; level <= 12; level++) {
      model = observeLadderStep(model, `png-palette@${level}x1`, frame, {
        bytes: 1000 * level,
        encodeMs: 5,
      });
    }
    expect(Object.keys(model.ladder ?? {})).toHaveLength(8);
    expect(expectLadderStep(model, 'png-palette@12x1', frame)?.bytes).toBeCloseTo(12_000, 6);
    expect(expectLadderStep(model, 'png-palette@4x1', frame)).toBeUndefined();
    expect(restoreModel(JSON.parse(JSON.stringify(model))).restored).toBe(true);
  });
});
