/**
 * What the viewer of a session sees, and the temporal benchmark's measures of it.
 *
 * The viewer shows the last image a server actually sent (an answer with non-empty `bytes`),
 * decoded and, when it was sent smaller than the frame, upscaled bilinearly to the frame's size, as
 * a receiver displays it; an answer without bytes (`unchanged`, `dropped`) leaves it on screen.
 * Before the first image, it shows nothing, which counts as SSIM 0. Each frame's viewer SSIM is the
 * project's SSIM (BT.601 luma, `functions/core/quality/ssim.ts`) of what is on screen against the
 * frame's true pixels; on a still screen also over the region its latest edit changed, since a
 * word typed on a 1280x720 page moves the whole frame's SSIM by less than 0.01.
 */
import sharp from 'sharp';
import {
  cropLuma,
  type LumaImage,
  lumaFromPixels,
  resizeBilinear,
} from '../functions/core/quality/luma.ts';
import {
  measureAgainst,
  prepareReference,
  releaseReference,
  ssim,
} from '../functions/core/quality/ssim.ts';
import type { SentFrame } from './temporal.ts';
import type { Edit } from './temporal-sequences.ts';

/** Frames as the viewer evaluation needs them: their size, each one's time and true RGB pixels. */
export interface TruthSequence {
  readonly width: number;
  readonly height: number;
  readonly frames: readonly {
    readonly timestampUs: number;
    readonly pixels: () => Promise<Buffer>;
  }[];
  /** Edits of a still screen: from each one on, the SSIM of its region is measured too. */
  readonly edits?: readonly Edit[];
}

/** One session's viewer, frame by frame. */
export interface ViewerSeries {
  /** Viewer SSIM of the whole frame. */
  readonly ssim: number[];
  /**
   * Viewer SSIM of the region the latest edit changed (a typed word barely moves the whole frame's
   * SSIM); NaN before the first edit.
   */
  readonly editSsim: number[];
}

/** The SSIM a frame gets while the viewer shows nothing. */
export const NOTHING_SHOWN_SSIM = 0;

/** The viewer of one session. */
export interface Viewer {
  /** Takes a server's answer: a non-empty image replaces what is shown, anything else keeps it. */
  receive(sent: SentFrame): Promise<void>;
  /** What is on screen, as luma at the frame's size; undefined before the first image. */
  shown(): LumaImage | undefined;
}

/** A viewer of frames `width x height`. */
export function createViewer(width: number, height: number): Viewer {
  let shown: LumaImage | undefined;
  return {
    async receive(sent) {
      if (sent.bytes.length === 0) return;
      // sharp rather than the service's decoder: a receiver shows any size the engine may send.
      const { data, info } = await sharp(sent.bytes).raw().toBuffer({ resolveWithObject: true });
      const luma = lumaFromPixels(data, info.width, info.height, info.channels);
      shown =
        luma.width === width && luma.height === height ? luma : resizeBilinear(luma, width, height);
    },
    shown: () => shown,
  };
}

/** The latest edit shown at `timestampUs`. */
const editAt = (edits: readonly Edit[], timestampUs: number) =>
  edits.findLast((edit) => edit.timestampUs <= timestampUs);

/**
 * Each session's viewer SSIM at each frame of `sequence`: `sessions[s][i]` is session `s`'s answer
 * to frame `i`. A frame's true pixels are prepared once and every session's viewer is measured
 * against them.
 */
export async function viewerSsims(
  sequence: TruthSequence,
  sessions: readonly (readonly SentFrame[])[],
): Promise<ViewerSeries[]> {
  const { width, height, frames } = sequence;
  const viewers = sessions.map((answers) => {
    if (answers.length !== frames.length) {
      throw new RangeError(`${answers.length} answers for ${frames.length} frames`);
    }
    return createViewer(width, height);
  });
  const series: ViewerSeries[] = sessions.map(() => ({ ssim: [], editSsim: [] }));
  for (const [i, frame] of frames.entries()) {
    await Promise.all(viewers.map((viewer, s) => viewer.receive(sessions[s]?.[i] as SentFrame)));
    const truth = lumaFromPixels(await frame.pixels(), width, height, 3);
    const reference = prepareReference(truth);
    const edit = editAt(sequence.edits ?? [], frame.timestampUs);
    viewers.forEach((viewer, s) => {
      const shown = viewer.shown();
      series[s]?.ssim.push(shown ? measureAgainst(reference, shown).ssim : NOTHING_SHOWN_SSIM);
      const region = edit?.region;
      series[s]?.editSsim.push(
        region === undefined
          ? Number.NaN
          : shown
            ? ssim(cropLuma(truth, region), cropLuma(shown, region))
            : NOTHING_SHOWN_SSIM,
      );
    });
    releaseReference(reference);
  }
  return series;
}

/**
 * A still screen's viewer SSIM as its measures read it: the whole frame's, or the latest edit's
 * region's where that is lower, so an edit counts as shown only once its region is sharp.
 */
export function stillScreenSsims(series: ViewerSeries): number[] {
  return series.ssim.map((ssim, i) => {
    const edit = series.editSsim[i];
    return edit === undefined || Number.isNaN(edit) ? ssim : Math.min(ssim, edit);
  });
}

/**
 * The highest one-second rate, bytes: for each frame at `t`, the bytes of the frames whose
 * timestamps fall in `(t - 1 s, t]`, the largest such sum.
 */
export function peakSecondBytes(timestampsUs: readonly number[], bytes: readonly number[]): number {
  let peak = 0;
  let windowBytes = 0;
  let first = 0;
  for (let i = 0; i < timestampsUs.length; i++) {
    const t = timestampsUs[i] as number;
    windowBytes += bytes[i] as number;
    while ((timestampsUs[first] as number) <= t - 1_000_000)
      windowBytes -= bytes[first++] as number;
    peak = Math.max(peak, windowBytes);
  }
  return peak;
}

/** A still period of a screen: from its start (the sequence's or an edit's) to the next one. */
interface Period {
  /** Index of the first frame of the period. */
  readonly start: number;
  /** Index after the last frame of the period. */
  readonly end: number;
  /** Index of the first frame whose viewer SSIM reaches the threshold; undefined if none does. */
  readonly reached: number | undefined;
}

/** The still periods between `startsUs` (the start and each edit), with where each reached `threshold`. */
function periods(
  ssims: readonly number[],
  timestampsUs: readonly number[],
  startsUs: readonly number[],
  threshold: number,
): Period[] {
  const starts = [0, ...startsUs.map((t) => timestampsUs.findIndex((u) => u >= t))]
    .filter((i) => i >= 0)
    .sort((a, b) => a - b);
  return [...new Set(starts)].map((start, k, all) => {
    const end = all[k + 1] ?? ssims.length;
    const offset = ssims.slice(start, end).findIndex((ssim) => ssim >= threshold);
    return { start, end, reached: offset < 0 ? undefined : start + offset };
  });
}

/**
 * For the start of the sequence and each edit (`editsUs`, the timestamps of the frames that first
 * show them), the time until the viewer SSIM first reaches `threshold`, ms: from the period's first
 * frame to the first frame at or above the threshold, 0 when that first frame already is.
 * `Infinity` for a period that ends (at the next edit or the end of the sequence) before it does.
 */
export function timesToReach(
  ssims: readonly number[],
  timestampsUs: readonly number[],
  editsUs: readonly number[],
  threshold: number,
): number[] {
  return periods(ssims, timestampsUs, editsUs, threshold).map(({ start, reached }) =>
    reached === undefined
      ? Number.POSITIVE_INFINITY
      : ((timestampsUs[reached] as number) - (timestampsUs[start] as number)) / 1000,
  );
}

/**
 * Indices of the frames during which a still screen stays settled: after the frame whose viewer
 * SSIM first reached `threshold` following the start or an edit, and before the next edit.
 */
export function settledFrames(
  ssims: readonly number[],
  timestampsUs: readonly number[],
  editsUs: readonly number[],
  threshold: number,
): number[] {
  return periods(ssims, timestampsUs, editsUs, threshold).flatMap(({ end, reached }) =>
    reached === undefined
      ? []
      : Array.from({ length: end - reached - 1 }, (_, k) => reached + 1 + k),
  );
}
