/**
 * Predictive compression: a small per-session model of how output size, SSIM and encode time follow
 * from (format, quality, scale) for the content of this session.
 *
 * Size and quality are two Bayesian linear regressions on top of content-agnostic prior curves:
 *
 *   ln(bytes / output pixels) = priorBytes(format, q, s) + theta_b . x
 *   ln(1 - SSIM)              = priorDistortion(format, q, s) + theta_d . x
 *   x = [1, is_jpeg, is_webp, is_avif, u, ln s, v * is_downscaled, v * is_webp]
 *   u = q/100 - 0.6, v = q/100 - 0.2 (zero at the grid's lowest quality)
 *
 * The first feature is the content term shared by every format (complex content costs more bytes
 * in every codec), so one JPEG encode also moves the WebP prediction; the format indicators carry
 * each codec's own offset and the next two features correct the prior slopes. The last two let the
 * quality slope differ where it measurably does: on a downscaled output the distortion of the
 * downscale dominates, so SSIM barely moves with quality (a slope of about -0.5 instead of -3 on
 * the benchmark's scenes and screens), and WebP's slope is flatter than JPEG's. They vanish at the
 * lowest quality, so the prior never expects a downscale to look better than full scale.
 *
 * Each regression is a Kalman filter over theta with a random-walk drift per frame (old frames
 * weigh less, like an exponential forgetting, without covariance wind-up on directions the search
 * never explores). An innovation beyond {@link SCENE_CUT_Z} standard deviations (a scene cut)
 * reopens the content term's variance, so the next observation resets it instead of being averaged
 * away. The noise variance is learned too, so the search's safety margin matches the session's
 * real scatter. A session's cold start is centred on its first frame's activity
 * ({@link coldStartModel}).
 *
 * What the regressions cannot fit (the curves' exact shape near the top of the quality scale, say)
 * is remembered per candidate: the residual of the latest encode and measurement of the most
 * recently seen candidates is added back to their predictions, fading by {@link RESIDUAL_DECAY}
 * per frame and forgotten at a scene cut. A still shot then stops retrying the candidate that
 * missed its budget by a percent because the smooth curve says it fits.
 * Encode and measure times are exponentially weighted averages per format, in ms per megapixel.
 *
 * The model is plain JSON (about 150 numbers) so that it can live in Redis between frames;
 * {@link restoreModel} validates a cached copy with {@link engineModelSchema} and falls back to the
 * cold-start prior when it is corrupt or from another version.
 */
import { z } from 'zod';
import type { OutputFormat } from '../contracts/config.ts';
import { type Candidate, candidateKey, type FrameSize } from './candidates.ts';

/** Version of the serialized model; bump it when its shape or meaning changes. */
export const ENGINE_MODEL_VERSION = 3;

/** Number of regression features (see the module comment). */
export const MODEL_FEATURES = 8;

/** Innovations beyond this many standard deviations are treated as a change of content. */
export const SCENE_CUT_Z = 3;

/** Candidates whose latest residuals the model remembers. */
export const RESIDUAL_MEMORY = 12;

/** Weight of a remembered residual per frame of age. */
export const RESIDUAL_DECAY = 0.99;

const QUALITY_CENTRE = 0.6;
const MIN_NOISE_VARIANCE = 0.03 ** 2;
const MAX_NOISE_VARIANCE = 0.5 ** 2;
const NOISE_LEARNING_RATE = 0.1;
const TIME_LEARNING_RATE = 0.3;
/**
 * Smallest distortion `1 - SSIM` modelled (SSIM 0.999); smaller measurements count as this. Near-
 * lossless outputs of flat content (a screen page at high quality reaches 1 - SSIM = 1e-4) sit far
 * off the log-linear curve: taken as measured, one of them reads as a scene cut and drags every
 * prediction, including those near the floor where the decisions are made.
 */
const MIN_DISTORTION = 1e-3;

interface FormatPrior {
  /** ln(bytes per output pixel) at quality 0 and scale 1, before the quality curve. */
  readonly logBytes: number;
  /** ln(1 - SSIM) at quality 0 and scale 1, before the quality slope. */
  readonly logDistortion: number;
  /** Cold-start encode time, ms per output megapixel (sharp on one arm64 core, low effort). */
  readonly encodeMsPerMp: number;
  /**
   * Cold-start measure time (decode of the output, SSIM and PSNR), ms per input megapixel. It
   * differs by format because decoders do: libvips decodes WebP about 3x slower than JPEG.
   */
  readonly measureMsPerMp: number;
}

/**
 * Content-agnostic priors for natural video at typical sharp settings: WebP about 20 % and AVIF
 * about 45 % smaller than JPEG at equal quality setting, with slightly more distortion; AVIF an
 * order of magnitude slower to encode.
 */
const FORMAT_PRIORS: Readonly<Record<OutputFormat, FormatPrior>> = {
  jpeg: { logBytes: -3.7, logDistortion: -1.6, encodeMsPerMp: 8, measureMsPerMp: 8 },
  webp: { logBytes: -3.95, logDistortion: -1.5, encodeMsPerMp: 30, measureMsPerMp: 20 },
  avif: { logBytes: -4.3, logDistortion: -1.4, encodeMsPerMp: 120, measureMsPerMp: 30 },
};

/** Prior variances of theta: a wide content term, narrow format offsets, moderate slopes. */
const PRIOR_VARIANCE: readonly number[] = [1, 0.04, 0.04, 0.09, 1, 0.25, 1, 1];

/** Drift added to the variance of theta at every frame (random walk of the content). */
const DRIFT_VARIANCE: readonly number[] = [
  0.001, 0.0002, 0.0002, 0.0002, 0.0005, 0.0003, 0.0005, 0.0005,
];

/**
 * Prior quality-slope corrections (per unit of q/100) on a downscaled output and for WebP, from the
 * slopes `npm run bench:compress`'s contents measure: bytes grow more slowly with quality on both,
 * and distortion falls much more slowly.
 */
const SLOPE_PRIORS = {
  bytes: { downscaled: -0.8, webp: -0.5 },
  distortion: { downscaled: 1.8, webp: 1.2 },
} as const;

/** Quality (q/100) at which the slope interactions vanish: the lowest of the grid. */
const SLOPE_ANCHOR = 0.2;

const finite = z.number().refine(Number.isFinite, 'must be finite');
const positive = finite.refine((value) => value > 0, 'must be positive');

const residualSchema = z
  .object({
    /** `candidateKey` of the candidate. */
    key: z.string().max(64),
    /** Frame (the model's `frames`) the residuals were observed in. */
    frame: z.number().int().nonnegative(),
    /** ln(bytes) observed minus the regression's mean after learning from it. */
    bytes: finite.optional(),
    /** ln(1 - SSIM) observed minus the regression's mean after learning from it. */
    distortion: finite.optional(),
  })
  .strict();

/** What the regressions left unexplained at one candidate, most recent first. */
export type Residual = z.infer<typeof residualSchema>;

const regressionSchema = z
  .object({
    theta: z.array(finite).length(MODEL_FEATURES),
    covariance: z
      .array(finite)
      .length(MODEL_FEATURES * MODEL_FEATURES)
      .refine(
        (cov) => cov.every((_, i) => i % (MODEL_FEATURES + 1) !== 0 || (cov[i] as number) > 0),
        'covariance diagonal must be positive',
      ),
    noiseVariance: positive.refine(
      (value) => value >= MIN_NOISE_VARIANCE && value <= MAX_NOISE_VARIANCE,
      'noise variance out of range',
    ),
  })
  .strict();

/** One Kalman-filtered linear regression (theta, its covariance row-major, observation noise). */
export type Regression = z.infer<typeof regressionSchema>;

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
    encodeMsPerMp: z.object({ jpeg: positive, webp: positive, avif: positive }).strict(),
    measureMsPerMp: z.object({ jpeg: positive, webp: positive, avif: positive }).strict(),
    residuals: z.array(residualSchema).max(RESIDUAL_MEMORY),
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

function priorRegression(noiseVariance: number): Regression {
  const covariance = new Array<number>(MODEL_FEATURES * MODEL_FEATURES).fill(0);
  for (let i = 0; i < MODEL_FEATURES; i++) {
    covariance[i * MODEL_FEATURES + i] = PRIOR_VARIANCE[i] as number;
  }
  return { theta: new Array<number>(MODEL_FEATURES).fill(0), covariance, noiseVariance };
}

/** The cold-start model: the content-agnostic priors with their full uncertainty. */
export function initialModel(): EngineModel {
  return {
    version: ENGINE_MODEL_VERSION,
    frames: 0,
    observations: 0,
    bytes: priorRegression(0.1 ** 2),
    distortion: priorRegression(0.15 ** 2),
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

/** A content term's prior as a linear function of ln(activity), and its variance. */
interface ActivityPrior {
  readonly intercept: number;
  readonly slope: number;
  readonly variance: number;
}

/**
 * The content terms' priors from the frame's activity (`frameActivity`), fitted on the benchmark's
 * contents (camera scenes, screens, gradients and noise at 640x360 and 1280x720, against the
 * priors above): ln(bytes) and ln(1 - SSIM) move by 0.42 and 0.62 per unit of ln(activity), and
 * what is left has a standard deviation of 0.21 and 0.37 instead of 0.86 and 2.0.
 */
const ACTIVITY_PRIOR: Readonly<Record<'bytes' | 'distortion', ActivityPrior>> = {
  bytes: { intercept: -0.47, slope: 0.42, variance: 0.1 },
  distortion: { intercept: -2.41, slope: 0.62, variance: 0.2 },
};

/** Activity below this (a flat frame) counts as this, so its logarithm stays finite. */
const MIN_ACTIVITY = 0.05;

/**
 * The cold-start model of a frame: {@link initialModel}, with the content terms centred where
 * {@link ACTIVITY_PRIOR} expects them, and their variance narrowed to match, when the frame's
 * activity is known.
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

function features(candidate: Pick<Candidate, 'format' | 'quality' | 'scale'>): number[] {
  const webp = candidate.format === 'webp' ? 1 : 0;
  const v = candidate.quality / 100 - SLOPE_ANCHOR;
  return [
    1,
    candidate.format === 'jpeg' ? 1 : 0,
    webp,
    candidate.format === 'avif' ? 1 : 0,
    candidate.quality / 100 - QUALITY_CENTRE,
    Math.log(candidate.scale),
    candidate.scale < 1 ? v : 0,
    webp * v,
  ];
}

/** The prior's own share of the slope features: `slopes` weighted by the interaction features. */
function priorSlopes(
  candidate: Pick<Candidate, 'format' | 'quality' | 'scale'>,
  slopes: { readonly downscaled: number; readonly webp: number },
): number {
  const v = candidate.quality / 100 - SLOPE_ANCHOR;
  return (
    (candidate.scale < 1 ? slopes.downscaled * v : 0) +
    (candidate.format === 'webp' ? slopes.webp * v : 0)
  );
}

function priorLogBytesPerPixel(candidate: Pick<Candidate, 'format' | 'quality' | 'scale'>): number {
  const u = candidate.quality / 100;
  // Bytes grow faster than linearly near the top of the quality scale; a downscaled output keeps
  // more detail per pixel, so its bytes per pixel rise.
  return (
    FORMAT_PRIORS[candidate.format].logBytes +
    0.6 * u +
    2.4 * u * u -
    0.4 * Math.log(candidate.scale) +
    priorSlopes(candidate, SLOPE_PRIORS.bytes)
  );
}

function priorLogDistortion(candidate: Pick<Candidate, 'format' | 'quality' | 'scale'>): number {
  const u = candidate.quality / 100;
  // Measured at the input's resolution, a downscale loses detail however good the encode is.
  return (
    FORMAT_PRIORS[candidate.format].logDistortion -
    3.2 * u -
    1.2 * Math.log(candidate.scale) +
    priorSlopes(candidate, SLOPE_PRIORS.distortion)
  );
}

function dot(a: readonly number[], b: readonly number[]): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] as number) * (b[i] as number);
  return sum;
}

function covarianceTimes(covariance: readonly number[], x: readonly number[]): number[] {
  const out = new Array<number>(MODEL_FEATURES).fill(0);
  for (let i = 0; i < MODEL_FEATURES; i++) {
    let sum = 0;
    for (let j = 0; j < MODEL_FEATURES; j++) {
      sum += (covariance[i * MODEL_FEATURES + j] as number) * (x[j] as number);
    }
    out[i] = sum;
  }
  return out;
}

/** Mean and variance (without observation noise) of theta . x. */
function regressionMoments(regression: Regression, x: readonly number[]): [number, number] {
  return [dot(regression.theta, x), dot(x, covarianceTimes(regression.covariance, x))];
}

/**
 * One Kalman update of a regression with the observation `y = offset + theta . x + noise`;
 * `sceneCut` says whether the surprise was big enough to count as a change of content.
 */
function updateRegression(
  regression: Regression,
  x: readonly number[],
  y: number,
  offset: number,
): { regression: Regression; sceneCut: boolean } {
  const covariance = regression.covariance.slice();
  const [mean, modelVariance] = regressionMoments(regression, x);
  const innovation = y - offset - mean;
  const expectedVariance = modelVariance + regression.noiseVariance;
  const squared = innovation * innovation;
  const sceneCut = squared > SCENE_CUT_Z * SCENE_CUT_Z * expectedVariance;
  if (sceneCut) {
    // The content changed: let the shared content term take the whole surprise.
    covariance[0] = (covariance[0] as number) + squared;
  }
  const px = covarianceTimes(covariance, x);
  const s = dot(x, px) + regression.noiseVariance;
  const theta = regression.theta.map((value, i) => value + ((px[i] as number) / s) * innovation);
  for (let i = 0; i < MODEL_FEATURES; i++) {
    for (let j = 0; j < MODEL_FEATURES; j++) {
      covariance[i * MODEL_FEATURES + j] =
        (covariance[i * MODEL_FEATURES + j] as number) -
        ((px[i] as number) * (px[j] as number)) / s;
    }
  }
  for (let i = 0; i < MODEL_FEATURES; i++) {
    // Rounding must not make a variance vanish; the filter would then stop learning.
    const d = i * MODEL_FEATURES + i;
    covariance[d] = Math.max(covariance[d] as number, 1e-9);
  }
  // Noise is learned from the part of the surprise the model's own uncertainty does not explain,
  // bounded so that one outlier moves it by at most a third.
  const noiseSample = Math.min(Math.max(squared - modelVariance, 0), 4 * regression.noiseVariance);
  const noiseVariance = Math.min(
    MAX_NOISE_VARIANCE,
    Math.max(
      MIN_NOISE_VARIANCE,
      (1 - NOISE_LEARNING_RATE) * regression.noiseVariance + NOISE_LEARNING_RATE * noiseSample,
    ),
  );
  return { regression: { theta, covariance, noiseVariance }, sceneCut };
}

/** The remembered residuals of `candidate`, weighted by their age (0 when none). */
function residualOf(
  model: EngineModel,
  candidate: Pick<Candidate, 'format' | 'quality' | 'scale'>,
): { bytes: number; distortion: number } {
  const key = candidateKey(candidate);
  const entry = model.residuals.find((r) => r.key === key);
  if (entry === undefined) return { bytes: 0, distortion: 0 };
  const weight = RESIDUAL_DECAY ** Math.max(0, model.frames - entry.frame);
  return { bytes: weight * (entry.bytes ?? 0), distortion: weight * (entry.distortion ?? 0) };
}

/**
 * Remembers `candidate`'s latest residual of one kind, the other kind carried over at its current
 * weight; the most recent first, at most {@link RESIDUAL_MEMORY}. A scene cut forgets the others.
 */
function remember(
  model: EngineModel,
  candidate: Pick<Candidate, 'format' | 'quality' | 'scale'>,
  kind: 'bytes' | 'distortion',
  value: number,
  sceneCut: boolean,
): Residual[] {
  const key = candidateKey(candidate);
  const carried = residualOf(model, candidate);
  const entry: Residual = { key, frame: model.frames, ...carried, [kind]: value };
  const others = sceneCut ? [] : model.residuals.filter((r) => r.key !== key);
  return [entry, ...others].slice(0, RESIDUAL_MEMORY);
}

function drift(regression: Regression): Regression {
  const covariance = regression.covariance.slice();
  for (let i = 0; i < MODEL_FEATURES; i++) {
    const d = i * MODEL_FEATURES + i;
    // Never wider than the prior: a long quiet session must not forget more than it ever knew.
    covariance[d] = Math.min(
      (covariance[d] as number) + (DRIFT_VARIANCE[i] as number),
      Math.max(covariance[d] as number, PRIOR_VARIANCE[i] as number),
    );
  }
  return { ...regression, covariance };
}

function ewmaLog(previous: number, observed: number): number {
  return Math.exp(
    (1 - TIME_LEARNING_RATE) * Math.log(previous) + TIME_LEARNING_RATE * Math.log(observed),
  );
}

function megapixels(size: FrameSize): number {
  return (size.width * size.height) / 1e6;
}

/** Marks the start of a frame: the content may have drifted since the last one. */
export function startFrame(model: EngineModel): EngineModel {
  return {
    ...model,
    frames: model.frames + 1,
    bytes: drift(model.bytes),
    distortion: drift(model.distortion),
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
    encodeMs: model.encodeMsPerMp[candidate.format] * megapixels(candidate),
    measureMs: model.measureMsPerMp[candidate.format] * megapixels(frame),
  };
}

/** Learns from an encode: its size, and its time when the port reported one. */
export function observeEncode(
  model: EngineModel,
  candidate: Candidate,
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
      result.encodeMs / megapixels(candidate),
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
  return {
    ...model,
    observations: model.observations + 1,
    bytes: regression,
    encodeMsPerMp,
    residuals: remember(model, candidate, 'bytes', y - prior - dot(regression.theta, x), sceneCut),
  };
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
  return {
    ...model,
    observations: model.observations + 1,
    distortion: regression,
    measureMsPerMp,
    residuals: remember(
      model,
      candidate,
      'distortion',
      y - prior - dot(regression.theta, x),
      sceneCut,
    ),
  };
}
