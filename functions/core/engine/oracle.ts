/**
 * The exhaustive oracle: encodes and measures every candidate of the grid and chooses with the same
 * rule as the engine. It is the reference the benchmark and the tests hold the engine to; it ignores
 * the latency budget, since it exists to say what the best possible choice was.
 */
import type { OutputFormat } from '../contracts/config.ts';
import { enumerateCandidates, type FrameSize, type FrameType } from './candidates.ts';
import type { EnginePort } from './port.ts';
import { type MeasuredEncoding, type Selection, selectBest } from './selection.ts';

/** Inputs of {@link exhaustiveSearch}. */
export interface ExhaustiveSearchInput {
  readonly frame: FrameSize & { readonly frameType: FrameType };
  readonly allowedFormats: readonly OutputFormat[];
  readonly budgetBytes: number;
  readonly minQualityScore: number;
  readonly port: EnginePort;
}

/** Every measured candidate and the rule's choice among them (`undefined`: none meets the floor). */
export interface ExhaustiveSearchResult {
  readonly encodings: readonly MeasuredEncoding[];
  readonly selection: Selection | undefined;
}

/** Encodes and measures the whole candidate grid of a frame, one candidate at a time. */
export async function exhaustiveSearch(
  input: ExhaustiveSearchInput,
): Promise<ExhaustiveSearchResult> {
  const encodings: MeasuredEncoding[] = [];
  for (const candidate of enumerateCandidates(input.frame, input.allowedFormats)) {
    const encoded = await input.port.encode(candidate);
    encodings.push({ ...encoded, ...(await input.port.measure(encoded)) });
  }
  const selection = selectBest(encodings, {
    budgetBytes: input.budgetBytes,
    minQualityScore: input.minQualityScore,
    frameType: input.frame.frameType,
  });
  return { encodings, selection };
}
