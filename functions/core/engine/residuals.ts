/**
 * What the engine model's regressions cannot fit (the curves' exact shape near the top of the
 * quality scale, say), remembered per candidate: the residual of the latest encode and measurement
 * of the most recently seen candidates is added back to their predictions, fading by
 * {@link RESIDUAL_DECAY} per frame and forgotten at a scene cut. A still shot then stops retrying
 * the candidate that missed its budget by a percent because the smooth curve says it fits.
 */
import { z } from 'zod';
import { candidateKey } from './candidates.ts';
import type { CandidateSettings } from './features.ts';
import { finiteNumber } from './model-numbers.ts';

/** Candidates whose latest residuals the model remembers. */
export const RESIDUAL_MEMORY = 12;

/** Weight of a remembered residual per frame of age. */
export const RESIDUAL_DECAY = 0.99;

/** Schema of a serialized {@link Residual}. */
export const residualSchema = z
  .object({
    /** `candidateKey` of the candidate. */
    key: z.string().max(64),
    /** Frame (the model's `frames`) the residuals were observed in. */
    frame: z.number().int().nonnegative(),
    /** ln(bytes) observed minus the regression's mean after learning from it. */
    bytes: finiteNumber.optional(),
    /** ln(1 - SSIM) observed minus the regression's mean after learning from it. */
    distortion: finiteNumber.optional(),
  })
  .strict();

/** What the regressions left unexplained at one candidate, most recent first. */
export type Residual = z.infer<typeof residualSchema>;

/** The part of the model that holds the residuals: them, and the frame count that ages them. */
export interface ResidualMemory {
  /** Frames the model has seen. */
  readonly frames: number;
  readonly residuals: readonly Residual[];
}

/** The remembered residuals of `candidate`, weighted by their age (0 when none). */
export function residualOf(
  memory: ResidualMemory,
  candidate: CandidateSettings,
): { bytes: number; distortion: number } {
  const key = candidateKey(candidate);
  const entry = memory.residuals.find((r) => r.key === key);
  if (entry === undefined) return { bytes: 0, distortion: 0 };
  const weight = RESIDUAL_DECAY ** Math.max(0, memory.frames - entry.frame);
  return { bytes: weight * (entry.bytes ?? 0), distortion: weight * (entry.distortion ?? 0) };
}

/** A residual just observed. */
export interface ObservedResidual {
  readonly kind: 'bytes' | 'distortion';
  /** The observation minus the regression's mean after learning from it. */
  readonly value: number;
  /** Whether the observation was a scene cut (see `regression.ts`). */
  readonly sceneCut: boolean;
}

/**
 * Remembers `candidate`'s latest residual of one kind, the other kind carried over at its current
 * weight; the most recent first, at most {@link RESIDUAL_MEMORY}. A scene cut forgets the others.
 */
export function remember(
  memory: ResidualMemory,
  candidate: CandidateSettings,
  residual: ObservedResidual,
): Residual[] {
  const key = candidateKey(candidate);
  const carried = residualOf(memory, candidate);
  const entry: Residual = {
    key,
    frame: memory.frames,
    ...carried,
    [residual.kind]: residual.value,
  };
  const others = residual.sceneCut ? [] : memory.residuals.filter((r) => r.key !== key);
  return [entry, ...others].slice(0, RESIDUAL_MEMORY);
}
