/**
 * Predictive compression: a small per-session model of how output size, SSIM and encode time follow
 * from (format, quality, scale) for the content of this session.
 *
 * Size and quality are two Bayesian linear regressions (`regression.ts`) on top of content-agnostic
 * prior curves (`priors.ts`):
 *
 *   ln(bytes / output pixels) = priorBytes(format, q, s) + theta_b . x
 *   ln(1 - SSIM)              = priorDistortion(format, q, s) + theta_d . x
 *   x = [1, is_jpeg, is_webp, is_avif, u, ln s, v * is_downscaled, v * is_webp]
 *   u = q/100 - 0.6, v = q/100 - 0.2 (zero at the grid's lowest quality)
 *
 * The first feature (`features.ts`) is the content term shared by every format (complex content
 * costs more bytes in every codec), so one JPEG encode also moves the WebP prediction; the format
 * indicators carry each codec's own offset and the next two features correct the prior slopes. The
 * last two let the quality slope differ where it does: on a downscaled output the distortion of the
 * downscale dominates, so SSIM barely moves with quality, and WebP's slope is flatter than JPEG's.
 * They vanish at the lowest quality, so the prior never expects a downscale to look better than
 * full scale.
 *
 * Each regression is a Kalman filter over theta with a random-walk drift per frame (old frames
 * weigh less, like an exponential forgetting, without covariance wind-up on directions the search
 * never explores). A scene cut reopens the content term's variance, so the next observation resets
 * it rather than being averaged away. The noise variance is learned too, so the search's safety
 * margin matches the session's real scatter. A session's cold start is centred on its first
 * frame's activity ({@link coldStartModel}).
 *
 * What the regressions cannot fit is remembered per candidate (`residuals.ts`). Encode and measure
 * times are exponentially weighted averages per format, in ms per megapixel: of the frame for a
 * measurement, and for an encode of the output plus {@link RESIZE_INPUT_SHARE} of the frame when
 * the output is downscaled.
 *
 * Screen ladder encodes (`screen-candidates.ts`) stay outside the regressions; the model only keeps
 * what each ladder step took and came to on the session's frames ({@link observeLadderStep}), so
 * that a busy screen's lossless coding, far over the budget, is not encoded again on every frame.
 *
 * The model is plain JSON (about 150 numbers) so that it can live in Redis between frames;
 * {@link restoreModel} validates a cached copy with {@link engineModelSchema} and falls back to the
 * cold-start prior when it is corrupt or from another version.
 */
import { z } from 'zod';
import type { Candidate, FrameSize } from './candidates.ts';
import { features } from './features.ts';
import { finiteNumber, positiveNumber } from './model-numbers.ts';
import {
  ACTIVITY_PRIOR,
  type ActivityPrior,
  DRIFT_VARIANCE,
  FORMAT_PRIORS,
  MIN_ACTIVITY,
  PRIOR_NOISE_VARIANCE,
  PRIOR_VARIANCE,
  priorLogBytesPerPixel,
  priorLogDistortion,
} from './priors.ts';
import {
  dot,
  driftRegression,
  priorRegression,
  type Regression,
  regressionMoments,
  regressionSchema,
  updateRegression,
} from './regression.ts';
import { RESIDUAL_MEMORY, remember, residualOf, residualSchema } from './residuals.ts';

/** Version of the serialized model; bump it when its shape or meaning changes. */
export const ENGINE_MODEL_VERSION = 5;

const TIME_LEARNING_RATE = 0.3;

/**
 * What a downscaled encode costs per frame megapixel, as a share of its cost per output megapixel:
 * the resize reads every pixel of the frame before the encoder sees one of the output. Timed by
 * output pixels alone, a quarter-scale encode (mostly resize) would teach a per-pixel cost that
 * makes every larger scale look several times slower than it is, and a session that once took the
 * quick small scale would never afford a sharper one again.
 */
export const RESIZE_INPUT_SHARE = 0.25;

/**
 * Smallest distortion `1 - SSIM` modelled (SSIM 0.999); smaller measurements count as this. Near-
 * lossless outputs of flat content (a screen page at high quality reaches 1 - SSIM = 1e-4) sit far
 * off the log-linear curve: taken as measured, one of them reads as a scene cut and drags every
 * prediction, including those near the floor where the decisions are made.
 */
const MIN_DISTORTION = 1e-3;

const formatTimesSchema = z
  .object({ jpeg: positiveNumber, webp: positiveNumber, avif: positiveNumber })
  .strict();

/** Most screen ladder steps a model keeps what they came to for. */
const LADDER_STEPS_KEPT = 8;

const ladderStepSchema = z
  .object({ msPerMp: positiveNumber, logBytesPerPixel: finiteNumber })
  .strict();

/** Schema of a serialized {@link EngineModel}: anything else is rejected and the prior used. */
export const engineModelSchema = z
  .object({
    version: z.literal(ENGINE_MODEL_VERSION),
    /** Frames the model has seen. */
    frames: z.number().int().nonnegative(),
    /** Encodes and measurements it has learned from. */
    observations: z.number().int().nonnegative(),
    bytes: regressionSchema,
    distortion: regressionSchema,
    encodeMsPerMp: formatTimesSchema,
    measureMsPerMp: formatTimesSchema,
    residuals: z.array(residualSchema).max(RESIDUAL_MEMORY),
    /**
     * What each screen ladder step (by `screenCandidateKey`) took on the session's frames, in ms
     * per frame megapixel, and came to, in ln(bytes per pixel); forgotten at a scene cut.
     */
    ladder: z
      .record(z.string().max(64), ladderStepSchema)
      .refine((steps) => Object.keys(steps).length <= LADDER_STEPS_KEPT, 'too many ladder steps')
      .optional(),
    /**
     * The session's latest frame, so that a plan made between frames (the network route's
     * recommendation) assumes the frame the session really sends.
     */
    frame: z
      .object({
        width: z.number().int().positive(),
        height: z.number().int().positive(),
        frameType: z.enum(['video', 'screen']),
        originalBytes: z.number().int().positive(),
      })
      .strict()
      .optional(),
  })
  .strict();

/** The per-session model, JSON-serialisable. */
export type EngineModel = z.infer<typeof engineModelSchema>;

/** What the model expects of a candidate. */
export interface Prediction {
  /** Expected ln(bytes). */
  readonly logBytes: number;
  /** Standard deviation of ln(bytes): model uncertainty plus observation noise. */
  readonly logBytesSd: number;
  /** Expected ln(1 - SSIM). */
  readonly logDistortion: number;
  /** Standard deviation of ln(1 - SSIM). */
  readonly logDistortionSd: number;
  /** Expected SSIM. */
  readonly ssim: number;
  /** Expected encode time, ms. */
  readonly encodeMs: number;
  /** Expected measure time, ms. */
  readonly measureMs: number;
}

/** The cold-start model: the content-agnostic priors with their full uncertainty. */
export function initialModel(): EngineModel {
  return {
    version: ENGINE_MODEL_VERSION,
    frames: 0,
    observations: 0,
    bytes: priorRegression(PRIOR_VARIANCE, PRIOR_NOISE_VARIANCE.bytes),
    distortion: priorRegression(PRIOR_VARIANCE, PRIOR_NOISE_VARIANCE.distortion),
    encodeMsPerMp: {
      jpeg: FORMAT_PRIORS.jpeg.encodeMsPerMp,
      webp: FORMAT_PRIORS.webp.encodeMsPerMp,
      avif: FORMAT_PRIORS.avif.encodeMsPerMp,
    },
    measureMsPerMp: {
      jpeg: FORMAT_PRIORS.jpeg.measureMsPerMp,
      webp: FORMAT_PRIORS.webp.measureMsPerMp,
      avif: FORMAT_PRIORS.avif.measureMsPerMp,
    },
    residuals: [],
  };
}

/**
 * The cold-start model of a frame: {@link initialModel}, with the content terms centred where
 * `ACTIVITY_PRIOR` expects them, and their variance narrowed to match, when the frame's activity
 * is known.
 */
export function coldStartModel(activity: number | undefined): EngineModel {
  const model = initialModel();
  if (activity === undefined || !Number.isFinite(activity)) return model;
  const level = Math.log(Math.max(MIN_ACTIVITY, activity));
  const centred = (regression: Regression, prior: ActivityPrior): Regression => {
    const theta = regression.theta.slice();
    const covariance = regression.covariance.slice();
    theta[0] = prior.intercept + prior.slope * level;
    covariance[0] = prior.variance;
    return { ...regression, theta, covariance };
  };
  return {
    ...model,
    bytes: centred(model.bytes, ACTIVITY_PRIOR.bytes),
    distortion: centred(model.distortion, ACTIVITY_PRIOR.distortion),
  };
}

/**
 * Reads a cached model (already JSON-parsed). A model that fails {@link engineModelSchema} (corrupt,
 * truncated, another version) is replaced by {@link initialModel}; `restored` says which happened.
 */
export function restoreModel(cached: unknown): { model: EngineModel; restored: boolean } {
  const parsed = engineModelSchema.safeParse(cached);
  return parsed.success
    ? { model: parsed.data, restored: true }
    : { model: initialModel(), restored: false };
}

function ewmaLog(previous: number, observed: number): number {
  return Math.exp(
    (1 - TIME_LEARNING_RATE) * Math.log(previous) + TIME_LEARNING_RATE * Math.log(observed),
  );
}

function megapixels(size: FrameSize): number {
  return (size.width * size.height) / 1e6;
}

/** The megapixels an encode of `candidate` is timed by (see {@link RESIZE_INPUT_SHARE}). */
function encodeMegapixels(candidate: Candidate, frame: FrameSize): number {
  const output = megapixels(candidate);
  return candidate.scale < 1 ? output + RESIZE_INPUT_SHARE * megapixels(frame) : output;
}

/** Marks the start of a frame: the content may have drifted since the last one. */
export function startFrame(model: EngineModel): EngineModel {
  return {
    ...model,
    frames: model.frames + 1,
    bytes: driftRegression(model.bytes, DRIFT_VARIANCE, PRIOR_VARIANCE),
    distortion: driftRegression(model.distortion, DRIFT_VARIANCE, PRIOR_VARIANCE),
  };
}

/** What the model expects of `candidate` on a frame of size `frame`. */
export function predict(model: EngineModel, candidate: Candidate, frame: FrameSize): Prediction {
  const x = features(candidate);
  const pixels = candidate.width * candidate.height;
  const [bytesMean, bytesVariance] = regressionMoments(model.bytes, x);
  const [distMean, distVariance] = regressionMoments(model.distortion, x);
  const residual = residualOf(model, candidate);
  const logBytes = Math.log(pixels) + priorLogBytesPerPixel(candidate) + bytesMean + residual.bytes;
  const logDistortion = priorLogDistortion(candidate) + distMean + residual.distortion;
  return {
    logBytes,
    logBytesSd: Math.sqrt(bytesVariance + model.bytes.noiseVariance),
    logDistortion,
    logDistortionSd: Math.sqrt(distVariance + model.distortion.noiseVariance),
    ssim: 1 - Math.min(1, Math.exp(logDistortion)),
    encodeMs: model.encodeMsPerMp[candidate.format] * encodeMegapixels(candidate, frame),
    measureMs: model.measureMsPerMp[candidate.format] * megapixels(frame),
  };
}

/** Learns from an encode: its size, and its time when the port reported one. */
export function observeEncode(
  model: EngineModel,
  candidate: Candidate,
  frame: FrameSize,
  result: { readonly bytes: number; readonly encodeMs: number },
): EngineModel {
  if (!Number.isFinite(result.bytes)) return model;
  const pixels = candidate.width * candidate.height;
  const bytes = Math.max(1, result.bytes);
  const y = Math.log(bytes / pixels);
  const encodeMsPerMp = { ...model.encodeMsPerMp };
  if (Number.isFinite(result.encodeMs) && result.encodeMs > 0) {
    encodeMsPerMp[candidate.format] = ewmaLog(
      encodeMsPerMp[candidate.format],
      result.encodeMs / encodeMegapixels(candidate, frame),
    );
  }
  const x = features(candidate);
  const prior = priorLogBytesPerPixel(candidate);
  // The regression learns what the remembered residual does not already explain.
  const { regression, sceneCut } = updateRegression(
    model.bytes,
    x,
    y,
    prior + residualOf(model, candidate).bytes,
  );
  const value = y - prior - dot(regression.theta, x);
  return {
    ...model,
    observations: model.observations + 1,
    bytes: regression,
    encodeMsPerMp,
    residuals: remember(model, candidate, { kind: 'bytes', value, sceneCut }),
    ladder: sceneCut ? undefined : model.ladder,
  };
}

/** What a screen ladder step is expected to take and come to on a frame. */
export interface LadderExpectation {
  readonly encodeMs: number;
  readonly bytes: number;
}

/**
 * What the screen ladder step `key` is expected to take and come to on a frame of size `frame`,
 * from the session's earlier encodes of it; undefined when there were none since the last scene
 * cut.
 */
export function expectLadderStep(
  model: EngineModel,
  key: string,
  frame: FrameSize,
): LadderExpectation | undefined {
  const step = model.ladder?.[key];
  if (step === undefined) return undefined;
  return {
    encodeMs: step.msPerMp * megapixels(frame),
    bytes: Math.exp(step.logBytesPerPixel) * frame.width * frame.height,
  };
}

/** Learns from an encode of the screen ladder step `key` on a frame of size `frame`. */
export function observeLadderStep(
  model: EngineModel,
  key: string,
  frame: FrameSize,
  result: { readonly bytes: number; readonly encodeMs: number },
): EngineModel {
  if (!(result.bytes > 0 && result.encodeMs > 0)) return model;
  const msPerMp = result.encodeMs / megapixels(frame);
  const logBytesPerPixel = Math.log(result.bytes / (frame.width * frame.height));
  const previous = model.ladder?.[key];
  const step = previous
    ? {
        msPerMp: ewmaLog(previous.msPerMp, msPerMp),
        logBytesPerPixel:
          (1 - TIME_LEARNING_RATE) * previous.logBytesPerPixel +
          TIME_LEARNING_RATE * logBytesPerPixel,
      }
    : { msPerMp, logBytesPerPixel };
  const others = Object.entries(model.ladder ?? {}).filter(([other]) => other !== key);
  const kept = others.slice(Math.max(0, others.length - (LADDER_STEPS_KEPT - 1)));
  return { ...model, ladder: { ...Object.fromEntries(kept), [key]: step } };
}

/** Learns from a measurement: the SSIM of an encoding, and the measure time. */
export function observeMeasurement(
  model: EngineModel,
  candidate: Candidate,
  frame: FrameSize,
  result: { readonly ssim: number; readonly measureMs: number },
): EngineModel {
  if (!Number.isFinite(result.ssim)) return model;
  const y = Math.log(Math.max(MIN_DISTORTION, 1 - result.ssim));
  const format = candidate.format;
  const measureMsPerMp =
    Number.isFinite(result.measureMs) && result.measureMs > 0
      ? {
          ...model.measureMsPerMp,
          [format]: ewmaLog(model.measureMsPerMp[format], result.measureMs / megapixels(frame)),
        }
      : model.measureMsPerMp;
  const x = features(candidate);
  const prior = priorLogDistortion(candidate);
  const { regression, sceneCut } = updateRegression(
    model.distortion,
    x,
    y,
    prior + residualOf(model, candidate).distortion,
  );
  const value = y - prior - dot(regression.theta, x);
  return {
    ...model,
    observations: model.observations + 1,
    distortion: regression,
    measureMsPerMp,
    residuals: remember(model, candidate, { kind: 'distortion', value, sceneCut }),
  };
}
