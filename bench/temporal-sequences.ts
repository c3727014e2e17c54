/**
 * The four sequences of the temporal benchmark, generated in the repository from seeds: frames
 * encoded as clients send them (PNG for screen content, JPEG q90 for camera content), stamped at
 * the stream's frame rate, each with its true pixels for the viewer evaluation.
 *
 * - `static-screen`: a 1280x720 documentation page held still, edited every {@link EDIT_EVERY_S}
 *   (a word typed, a line rewritten, alternately).
 * - `scrolling-page`: a taller page scrolling under a fixed top bar and sidebar at
 *   {@link SCROLL_PX_PER_S}.
 * - `camera-pan`: a 640x360 landscape panned at {@link PAN_PX_PER_S}, with sensor noise.
 * - `talking-head`: a 640x360 person in a room, the head swaying slightly, the mouth and eyes
 *   moving, with light sensor noise.
 *
 * Motion is defined per second, so a sequence shows the same content over time at every frame
 * rate. The rendered page and landscape are drawn once per sequence and a frame is a window onto
 * them; frames of the still page between two edits are the same bytes.
 */
import sharp from 'sharp';
import type { FrameType } from '../functions/core/engine/candidates.ts';
import type { Region } from '../functions/core/quality/luma.ts';
import {
  CAMERA,
  poseAt,
  renderLandscape,
  renderPerson,
  renderRoom,
  withSensorNoise,
} from './temporal-camera.ts';
import {
  blit,
  COLUMN,
  editLayout,
  layoutColumn,
  type RgbImage,
  renderChrome,
  renderColumn,
  WINDOW,
  windowAt,
} from './temporal-screen.ts';

/** The sequences, in the order the benchmark reports them. */
export const SEQUENCE_NAMES = [
  'static-screen',
  'scrolling-page',
  'camera-pan',
  'talking-head',
] as const;

/** A sequence's name. */
export type SequenceName = (typeof SEQUENCE_NAMES)[number];

/** Length of a sequence, seconds. */
export const DURATION_S = 6;
/** Time between two edits of the static screen, seconds. */
export const EDIT_EVERY_S = 2;
/** Scrolling speed of the scrolling page: 2.5 px a frame at 30 fps. */
export const SCROLL_PX_PER_S = 75;
/** Panning speed of the camera: 3 px a frame at 30 fps. */
export const PAN_PX_PER_S = 90;
/** Standard deviation of the sensor noise, per 8-bit sample: a panning camera's, a still webcam's. */
const PAN_NOISE = 2.5;
const HEAD_NOISE = 1.5;
/** Frames encoded at once: libvips encodes on its own threads. */
const BATCH = 6;

/** How to generate a sequence. */
export interface SequenceOptions {
  readonly fps: number;
  /** Defaults to {@link DURATION_S}. */
  readonly durationS?: number;
  /** Defaults to {@link EDIT_EVERY_S}; only the static screen is edited. */
  readonly editEveryS?: number;
  /** Defaults to 1; the same seed always gives the same bytes. */
  readonly seed?: number;
}

/** One frame of a sequence. */
export interface SequenceFrame {
  readonly index: number;
  /** `round(index x 10^6 / fps)`. */
  readonly timestampUs: number;
  /** The frame encoded as a client sends it. */
  readonly data: Buffer;
  /** The frame's true RGB pixels (3 bytes a pixel, the sequence's size), rendered again on demand; do not modify. */
  readonly pixels: () => Promise<Buffer>;
}

/** An edit of the still screen. */
export interface Edit {
  /** Timestamp of the first frame that shows it. */
  readonly timestampUs: number;
  /** What it changed: the bounding box of the pixels that differ from the frame before, padded. */
  readonly region: Region;
}

/** A generated sequence. */
export interface Sequence {
  readonly name: SequenceName;
  readonly frameType: FrameType;
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  readonly frames: readonly SequenceFrame[];
  /** The static screen's edits, in order; empty for the other sequences. */
  readonly edits: readonly Edit[];
}

/** The frames' timestamps, µs, for `options`. */
function timestamps(options: SequenceOptions): number[] {
  const count = Math.max(1, Math.round((options.durationS ?? DURATION_S) * options.fps));
  return Array.from({ length: count }, (_, i) => Math.round((i * 1_000_000) / options.fps));
}

async function encode(image: RgbImage, frameType: FrameType): Promise<Buffer> {
  const raw = sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } });
  return frameType === 'screen'
    ? raw.png({ compressionLevel: 6 }).toBuffer()
    : raw.jpeg({ quality: 90 }).toBuffer();
}

/** Encodes every frame (a few at a time) from its pixels. */
async function encodeFrames(
  times: readonly number[],
  frameType: FrameType,
  render: (index: number) => Promise<RgbImage>,
): Promise<SequenceFrame[]> {
  const frames: SequenceFrame[] = [];
  for (let start = 0; start < times.length; start += BATCH) {
    const batch = times.slice(start, start + BATCH).map(async (timestampUs, offset) => {
      const index = start + offset;
      const data = await encode(await render(index), frameType);
      const pixels = async () => (await render(index)).data;
      return { index, timestampUs, data, pixels };
    });
    frames.push(...(await Promise.all(batch)));
  }
  return frames;
}

/** Padding of an edit's region: SSIM's window sees the edit with some of its surroundings. */
const EDIT_PADDING = 16;

/** The bounding box of the pixels where `a` and `b` differ, padded; undefined when none do. */
function changedRegion(a: RgbImage, b: RgbImage): Region | undefined {
  let [left, top, right, bottom] = [a.width, a.height, -1, -1];
  for (let y = 0; y < a.height; y++) {
    const row = y * a.width * 3;
    if (a.data.compare(b.data, row, row + a.width * 3, row, row + a.width * 3) === 0) continue;
    for (let x = 0; x < a.width; x++) {
      const i = row + x * 3;
      if (
        a.data[i] === b.data[i] &&
        a.data[i + 1] === b.data[i + 1] &&
        a.data[i + 2] === b.data[i + 2]
      ) {
        continue;
      }
      [left, right, top, bottom] = [Math.min(left, x), Math.max(right, x), Math.min(top, y), y];
    }
  }
  if (right < 0) return undefined;
  const x0 = Math.max(0, left - EDIT_PADDING);
  const y0 = Math.max(0, top - EDIT_PADDING);
  const x1 = Math.min(a.width, right + 1 + EDIT_PADDING);
  const y1 = Math.min(a.height, bottom + 1 + EDIT_PADDING);
  return { left: x0, top: y0, width: x1 - x0, height: y1 - y0 };
}

let chrome: Promise<RgbImage> | undefined;
/** The window's top bar and sidebar, drawn once per process. */
const windowChrome = () => {
  chrome ??= renderChrome();
  return chrome;
};

/** The still page after some number of edits: its pixels and its PNG. */
interface ScreenState {
  readonly image: RgbImage;
  readonly data: Buffer;
}

async function staticScreen(options: SequenceOptions, seed: number): Promise<Sequence> {
  const times = timestamps(options);
  const editEveryUs = Math.round((options.editEveryS ?? EDIT_EVERY_S) * 1_000_000);
  const editsAt = (timestampUs: number) => Math.floor(timestampUs / editEveryUs);
  const layout = layoutColumn(seed, COLUMN.height);
  const frame = await windowChrome();
  const states = new Map<number, ScreenState>();
  for (const edits of new Set(times.map(editsAt))) {
    const column = await renderColumn(editLayout(layout, edits, COLUMN.height));
    const image = windowAt(frame, column, 0);
    states.set(edits, { image, data: await encode(image, 'screen') });
  }
  const state = (timestampUs: number) => states.get(editsAt(timestampUs)) as ScreenState;
  const frames = times.map((timestampUs, index) => {
    const { image, data } = state(timestampUs);
    return { index, timestampUs, data, pixels: async () => image.data };
  });
  const edits = times.flatMap((timestampUs, i) => {
    const before = i > 0 ? state(times[i - 1] as number) : undefined;
    const region = before && changedRegion(before.image, state(timestampUs).image);
    return region ? [{ timestampUs, region }] : [];
  });
  return { name: 'static-screen', frameType: 'screen', ...WINDOW, fps: options.fps, frames, edits };
}

async function scrollingPage(options: SequenceOptions, seed: number): Promise<Sequence> {
  const times = timestamps(options);
  const scroll = (index: number) => Math.round(((times[index] as number) * SCROLL_PX_PER_S) / 1e6);
  const lastScroll = scroll(times.length - 1);
  const column = await renderColumn(layoutColumn(seed, COLUMN.height + lastScroll));
  const frame = await windowChrome();
  const render = async (index: number) => windowAt(frame, column, scroll(index));
  const frames = await encodeFrames(times, 'screen', render);
  return {
    name: 'scrolling-page',
    frameType: 'screen',
    ...WINDOW,
    fps: options.fps,
    frames,
    edits: [],
  };
}

async function cameraPan(options: SequenceOptions, seed: number): Promise<Sequence> {
  const times = timestamps(options);
  const pan = (index: number) => Math.round(((times[index] as number) * PAN_PX_PER_S) / 1e6);
  const landscape = await renderLandscape(CAMERA.width + pan(times.length - 1), seed);
  const render = async (index: number) => {
    const window: RgbImage = { ...CAMERA, data: Buffer.alloc(CAMERA.width * CAMERA.height * 3) };
    blit(window, landscape, { srcX: pan(index), srcY: 0, dstX: 0, dstY: 0, ...CAMERA });
    return withSensorNoise(window, PAN_NOISE, seed * 100_003 + index);
  };
  const frames = await encodeFrames(times, 'video', render);
  return {
    name: 'camera-pan',
    frameType: 'video',
    ...CAMERA,
    fps: options.fps,
    frames,
    edits: [],
  };
}

async function talkingHead(options: SequenceOptions, seed: number): Promise<Sequence> {
  const times = timestamps(options);
  const room = await renderRoom(seed);
  const render = async (index: number) => {
    const person = await renderPerson(room, poseAt((times[index] as number) / 1e6, seed));
    return withSensorNoise(person, HEAD_NOISE, seed * 100_019 + index);
  };
  const frames = await encodeFrames(times, 'video', render);
  return {
    name: 'talking-head',
    frameType: 'video',
    ...CAMERA,
    fps: options.fps,
    frames,
    edits: [],
  };
}

const GENERATORS: Record<
  SequenceName,
  (options: SequenceOptions, seed: number) => Promise<Sequence>
> = {
  'static-screen': staticScreen,
  'scrolling-page': scrollingPage,
  'camera-pan': cameraPan,
  'talking-head': talkingHead,
};

/** One sequence; each sequence draws its own content from `seed`, so they differ for one seed. */
export function generateSequence(name: SequenceName, options: SequenceOptions): Promise<Sequence> {
  const seed = (options.seed ?? 1) * 16 + SEQUENCE_NAMES.indexOf(name);
  return GENERATORS[name](options, seed);
}

/** The four sequences at one frame rate, in {@link SEQUENCE_NAMES} order. */
export async function generateSequences(options: SequenceOptions): Promise<Sequence[]> {
  const sequences: Sequence[] = [];
  for (const name of SEQUENCE_NAMES) sequences.push(await generateSequence(name, options));
  return sequences;
}
