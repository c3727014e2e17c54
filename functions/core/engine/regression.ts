/**
 * One Bayesian linear regression of the engine model, as a Kalman filter over its coefficients
 * theta: the observation `y = offset + theta . x + noise`, with a random-walk drift of theta per
 * frame and a learned observation noise. An innovation beyond {@link SCENE_CUT_Z} standard
 * deviations (a scene cut) reopens the content term's variance, so that the observation resets it
 * rather than being averaged away.
 */
import { z } from 'zod';
import { MODEL_FEATURES } from './features.ts';
import { finiteNumber, positiveNumber } from './model-numbers.ts';

/** Innovations beyond this many standard deviations are treated as a change of content. */
export const SCENE_CUT_Z = 3;

const MIN_NOISE_VARIANCE = 0.03 ** 2;
const MAX_NOISE_VARIANCE = 0.5 ** 2;
const NOISE_LEARNING_RATE = 0.1;

/** Schema of a serialized {@link Regression}. */
export const regressionSchema = z
  .object({
    theta: z.array(finiteNumber).length(MODEL_FEATURES),
    covariance: z
      .array(finiteNumber)
      .length(MODEL_FEATURES * MODEL_FEATURES)
      .refine(
        (cov) => cov.every((_, i) => i % (MODEL_FEATURES + 1) !== 0 || (cov[i] as number) > 0),
        'covariance diagonal must be positive',
      ),
    noiseVariance: positiveNumber.refine(
      (value) => value >= MIN_NOISE_VARIANCE && value <= MAX_NOISE_VARIANCE,
      'noise variance out of range',
    ),
  })
  .strict();

/** One Kalman-filtered linear regression (theta, its covariance row-major, observation noise). */
export type Regression = z.infer<typeof regressionSchema>;

/** A regression at its prior: theta 0, a diagonal covariance of `variance`. */
export function priorRegression(variance: readonly number[], noiseVariance: number): Regression {
  const covariance = new Array<number>(MODEL_FEATURES * MODEL_FEATURES).fill(0);
  for (let i = 0; i < MODEL_FEATURES; i++) {
    covariance[i * MODEL_FEATURES + i] = variance[i] as number;
  }
  return { theta: new Array<number>(MODEL_FEATURES).fill(0), covariance, noiseVariance };
}

/** The dot product of two vectors of the same length. */
export function dot(a: readonly number[], b: readonly number[]): number {
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
export function regressionMoments(regression: Regression, x: readonly number[]): [number, number] {
  return [dot(regression.theta, x), dot(x, covarianceTimes(regression.covariance, x))];
}

/**
 * One Kalman update of a regression with the observation `y = offset + theta . x + noise`;
 * `sceneCut` says whether the surprise was big enough to count as a change of content.
 */
export function updateRegression(
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
  return {
    regression: {
      theta,
      covariance,
      noiseVariance: learnNoise(regression, squared, modelVariance),
    },
    sceneCut,
  };
}

/**
 * The noise variance learned from the part of a squared innovation the model's own uncertainty
 * (`modelVariance`) does not explain, bounded so that one outlier moves it by at most a third.
 */
function learnNoise(regression: Regression, squared: number, modelVariance: number): number {
  const noiseSample = Math.min(Math.max(squared - modelVariance, 0), 4 * regression.noiseVariance);
  return Math.min(
    MAX_NOISE_VARIANCE,
    Math.max(
      MIN_NOISE_VARIANCE,
      (1 - NOISE_LEARNING_RATE) * regression.noiseVariance + NOISE_LEARNING_RATE * noiseSample,
    ),
  );
}

/**
 * One frame of random-walk drift: `driftVariance` added to the variances of theta, never beyond
 * `priorVariance` (a long quiet session must not forget more than it ever knew).
 */
export function driftRegression(
  regression: Regression,
  driftVariance: readonly number[],
  priorVariance: readonly number[],
): Regression {
  const covariance = regression.covariance.slice();
  for (let i = 0; i < MODEL_FEATURES; i++) {
    const d = i * MODEL_FEATURES + i;
    covariance[d] = Math.min(
      (covariance[d] as number) + (driftVariance[i] as number),
      Math.max(covariance[d] as number, priorVariance[i] as number),
    );
  }
  return { ...regression, covariance };
}
