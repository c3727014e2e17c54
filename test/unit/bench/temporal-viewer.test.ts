import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import type { SentFrame } from '../../../bench/temporal.ts';
import {
  createViewer,
  peakSecondBytes,
  settledFrames,
  stillScreenSsims,
  timesToReach,
  viewerSsims,
} from '../../../bench/temporal-viewer.ts';
import { cropLuma, lumaFromPixels, resizeBilinear } from '../../../functions/core/quality/luma.ts';
import { ssim } from '../../../functions/core/quality/ssim.ts';

/** The smallest frame the decoder accepts is 160x90. */
const [W, H] = [192, 108];

/** RGB pixels of `width x height` from a function of the position. */
function rgb(width: number, height: number, f: (x: number, y: number) => number): Buffer {
  const data = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++)
      data.fill(f(x, y), (y * width + x) * 3, (y * width + x + 1) * 3);
  }
  return data;
}

const png = (pixels: Buffer, width = W, height = H) =>
  sharp(pixels, { raw: { width, height, channels: 3 } })
    .png()
    .toBuffer();
const luma = (pixels: Buffer, width = W, height = H) => lumaFromPixels(pixels, width, height, 3);

const A = rgb(W, H, (x, y) => (x * 7 + y * 3) % 256);
const B = rgb(W, H, (x, y) => (((x >> 3) + (y >> 3)) % 2 ? 200 : 40));
const NOTHING: SentFrame = { status: 'dropped', bytes: Buffer.alloc(0) };
const UNCHANGED: SentFrame = { status: 'unchanged', bytes: Buffer.alloc(0) };
const sent = async (pixels: Buffer): Promise<SentFrame> => ({
  status: 'success',
  bytes: await png(pixels),
});

/** Frames 100 ms apart with the given pixels. */
const sequence = (frames: Buffer[]) => ({
  width: W,
  height: H,
  frames: frames.map((pixels, i) => ({ timestampUs: i * 100_000, pixels: async () => pixels })),
});

describe('the viewer of a session', () => {
  it('shows nothing before the first image, then the last image sent', async () => {
    const viewer = createViewer(W, H);
    expect(viewer.shown()).toBeUndefined();
    await viewer.receive(await sent(A));
    expect(viewer.shown()?.data).toEqual(luma(A).data);
    await viewer.receive(await sent(B));
    expect(viewer.shown()?.data).toEqual(luma(B).data);
  });

  it('keeps the image on screen through unchanged and dropped answers', async () => {
    const viewer = createViewer(W, H);
    await viewer.receive(await sent(A));
    const shown = viewer.shown();
    await viewer.receive(UNCHANGED);
    await viewer.receive(NOTHING);
    expect(viewer.shown()).toBe(shown);
  });

  it('upscales an image sent smaller to the frame size, bilinearly', async () => {
    const small = rgb(W / 2, H / 2, (x, y) => (x * 11 + y * 5) % 256);
    const viewer = createViewer(W, H);
    await viewer.receive({ status: 'success', bytes: await png(small, W / 2, H / 2) });
    const shown = viewer.shown();
    expect([shown?.width, shown?.height]).toEqual([W, H]);
    expect(shown?.data).toEqual(resizeBilinear(luma(small, W / 2, H / 2), W, H).data);
  });

  it('scores 0 while nothing is shown, 1 on the exact frame, less once the frame moves on', async () => {
    const frames = sequence([A, A, B]);
    const late = [NOTHING, await sent(A), UNCHANGED];
    const prompt = [await sent(A), UNCHANGED, await sent(B)];
    const [lateSeries, promptSeries] = await viewerSsims(frames, [late, prompt]);
    expect(lateSeries?.ssim).toEqual([0, 1, ssim(luma(B), luma(A))]);
    expect(promptSeries?.ssim).toEqual([1, 1, 1]);
    expect(ssim(luma(B), luma(A))).toBeLessThan(0.5);
  });

  it('scores the region of the latest edit from the edit on', async () => {
    // The edit changes a 40x30 block; the rest of the frame stays A.
    const region = { left: 60, top: 40, width: 40, height: 30 };
    const inside = (x: number, y: number) =>
      x >= region.left &&
      x < region.left + region.width &&
      y >= region.top &&
      y < region.top + region.height;
    const edited = rgb(W, H, (x, y) =>
      inside(x, y) ? 255 - ((x * 7 + y * 3) % 256) : (x * 7 + y * 3) % 256,
    );
    const frames = { ...sequence([A, edited, edited]), edits: [{ timestampUs: 100_000, region }] };
    const [series] = await viewerSsims(frames, [[await sent(A), UNCHANGED, await sent(edited)]]);
    const stale = ssim(cropLuma(luma(edited), region), cropLuma(luma(A), region));
    expect(series?.editSsim).toEqual([Number.NaN, stale, 1]);
    // The whole frame barely notices the edit; the still-screen series takes the lower of the two.
    expect(series?.ssim[1]).toBeGreaterThan(stale);
    expect(stillScreenSsims(series as NonNullable<typeof series>)).toEqual([1, stale, 1]);
  });

  it('needs an answer for every frame', async () => {
    await expect(viewerSsims(sequence([A, A]), [[NOTHING]])).rejects.toThrow(RangeError);
  });
});

describe('the viewer measures', () => {
  it('take the highest sum of bytes over frames in (t - 1 s, t]', () => {
    const timestamps = [0, 500_000, 1_000_000, 1_500_000, 2_000_000];
    // At 1 s the window holds 0.5 s and 1 s, not 0 s: 200 + 300; at 2 s, 400 + 500.
    expect(peakSecondBytes(timestamps, [100, 200, 300, 400, 500])).toBe(900);
    expect(peakSecondBytes(timestamps, [1000, 0, 0, 0, 0])).toBe(1000);
    expect(peakSecondBytes(timestamps, [0, 0, 600, 0, 0])).toBe(600);
    // A burst of three frames within one second counts whole.
    expect(peakSecondBytes([0, 100_000, 999_999, 2_500_000], [10, 20, 30, 5])).toBe(60);
    expect(peakSecondBytes([], [])).toBe(0);
  });

  const at100ms = Array.from({ length: 10 }, (_, i) => i * 100_000);
  // Sharp from frame 2; the edit at frame 5 blurs it, sharp again from frame 8.
  const series = [0, 0.5, 0.995, 1, 1, 0.8, 0.9, 0.98, 0.99, 0.99];

  it('time the first frame at the threshold after the start and after each edit', () => {
    expect(timesToReach(series, at100ms, [500_000], 0.99)).toEqual([200, 300]);
    expect(timesToReach([1, 1, 1], at100ms.slice(0, 3), [], 0.99)).toEqual([0]);
  });

  it('say a still period that ends before reaching the threshold never did', () => {
    const neverAfterEdit = [1, 1, 1, 1, 1, 0.5, 0.6, 0.7, 0.8, 0.9];
    expect(timesToReach(neverAfterEdit, at100ms, [500_000], 0.99)).toEqual([0, Infinity]);
    expect(timesToReach(series, at100ms, [300_000], 0.99)).toEqual([200, 0]);
  });

  it('count a still screen as settled after the frame that reached the threshold, until the next edit', () => {
    expect(settledFrames(series, at100ms, [500_000], 0.99)).toEqual([3, 4, 9]);
    expect(settledFrames([0.5, 0.6, 0.7], at100ms.slice(0, 3), [], 0.99)).toEqual([]);
  });
});
