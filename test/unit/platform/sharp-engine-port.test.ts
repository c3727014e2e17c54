import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { cropLuma, lumaFromPixels } from '../../../functions/core/quality/luma.ts';
import { measureQuality } from '../../../functions/core/quality/ssim.ts';
import { decodeFrame } from '../../../functions/platform/imaging/frame-decoder.ts';
import {
  createSharpEnginePort,
  useImagingThreads,
} from '../../../functions/platform/imaging/sharp-engine-port.ts';
import { encodeFrame } from '../../support/frames.ts';

const candidate = { format: 'jpeg', quality: 60, scale: 1, width: 320, height: 180 } as const;

describe('the sharp engine port', () => {
  it('measures what it encoded until the frame is finished, and keeps the outputs after', async () => {
    const port = createSharpEnginePort(
      await decodeFrame(await encodeFrame('scene', { width: 320, height: 180 })),
    );
    const encoded = await port.encode(candidate);
    const measured = await port.measure(encoded);
    expect(measured.ssim).toBeGreaterThan(0.5);
    expect(measured.ssim).toBeLessThan(1);
    port.finish();
    await expect(port.measure(encoded)).rejects.toThrow(/finished/);
    const output = port.output(encoded);
    expect((await sharp(output).metadata()).width).toBe(320);
  });

  it('gives a new frame of the same size its own figures after an earlier one finished', async () => {
    const size = { width: 320, height: 180 };
    const first = createSharpEnginePort(await decodeFrame(await encodeFrame('screen', size)));
    await first.measure(await first.encode(candidate));
    first.finish();
    const frame = await decodeFrame(await encodeFrame('scene', size));
    const reused = createSharpEnginePort(frame);
    const fresh = createSharpEnginePort(frame);
    const a = await reused.measure(await reused.encode(candidate));
    const b = await fresh.measure(await fresh.encode(candidate));
    expect({ ssim: a.ssim, psnrDb: a.psnrDb }).toEqual({ ssim: b.ssim, psnrDb: b.psnrDb });
  });

  it('tells a busy frame from a calm one before anything is encoded', async () => {
    const size = { width: 320, height: 180 };
    const activity = async (kind: 'gradient' | 'scene' | 'noise') =>
      createSharpEnginePort(await decodeFrame(await encodeFrame(kind, size))).activity();
    const [gradient, scene, noise] = await Promise.all([
      activity('gradient'),
      activity('scene'),
      activity('noise'),
    ]);
    expect(gradient).toBeLessThan(scene);
    expect(scene).toBeLessThan(noise);
  });

  it('encodes lossless WebP that decodes to exactly the input, and measures it as identical', async () => {
    const size = { width: 320, height: 180 };
    const frame = await decodeFrame(await encodeFrame('scene', size));
    const port = createSharpEnginePort(frame);
    const lossless = {
      format: 'webp',
      encoding: 'lossless',
      level: 100,
      scale: 1,
      ...size,
    } as const;
    const encoded = await port.encode(lossless);
    const decoded = await sharp(port.output(encoded)).removeAlpha().raw().toBuffer();
    expect(decoded.equals(frame.pixels)).toBe(true);
    expect(await port.measure(encoded)).toMatchObject({ ssim: 1, psnrDb: 100 });
  });

  it('measures the real SSIM of a palette PNG and of a near-lossless WebP', async () => {
    const size = { width: 320, height: 180 };
    const port = createSharpEnginePort(await decodeFrame(await encodeFrame('scene', size)));
    const palette = { format: 'png', encoding: 'palette', level: 16, scale: 1, ...size } as const;
    const encoded = await port.encode(palette);
    expect((await sharp(port.output(encoded)).metadata()).format).toBe('png');
    const measured = await port.measure(encoded);
    expect(measured.ssim).toBeGreaterThan(0.5);
    expect(measured.ssim).toBeLessThan(1);
    const near = {
      format: 'webp',
      encoding: 'near_lossless',
      level: 60,
      scale: 1,
      ...size,
    } as const;
    const nearMeasured = await port.measure(await port.encode(near));
    expect(nearMeasured.ssim).toBeGreaterThan(0.9);
    expect(nearMeasured.ssim).toBeLessThan(1);
  });

  it("reports Wang's SSIM of what goes out where his analysis factor is not the engine's", async () => {
    const size = { width: 640, height: 360 };
    const frame = await decodeFrame(await encodeFrame('scene', size));
    const port = createSharpEnginePort(frame);
    const half = { format: 'jpeg', quality: 60, scale: 0.5, width: 320, height: 180 } as const;
    const encoded = await port.encode(half);
    const engine = await port.measure(encoded);
    const reported = await port.reportedQuality(encoded);
    // Measured independently: the output shown at the input's size, at F = 1 and F = 2.
    const input = lumaFromPixels(frame.pixels, frame.width, frame.height, frame.channels);
    const shown = await sharp(port.output(encoded))
      .resize(640, 360, { kernel: 'linear' })
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const output = lumaFromPixels(shown.data, 640, 360, 3);
    expect(reported?.ssim).toBeCloseTo(measureQuality(input, output, { factor: 1 }).ssim, 1);
    expect(engine.ssim).toBeCloseTo(measureQuality(input, output, { factor: 2 }).ssim, 1);
    expect(reported?.ssim).toBeLessThan(engine.ssim);
    expect(reported?.psnrDb).toBe(engine.psnrDb);
    expect(await port.reportedQuality(port.output(encoded))).toEqual({
      ...reported,
      measureMs: expect.any(Number),
    });
  });

  it('measures an image over regions of the frame alone, the least of them, against the naive SSIM of each crop', async () => {
    const size = { width: 640, height: 360 };
    const frame = await decodeFrame(await encodeFrame('screen', size));
    const port = createSharpEnginePort(frame);
    const half = { format: 'jpeg', quality: 60, scale: 0.5, width: 320, height: 180 } as const;
    const image = port.output(await port.encode(half));
    const regions = [
      { left: 64, top: 32, width: 32, height: 32 },
      { left: 320, top: 160, width: 32, height: 32 },
    ];
    const input = lumaFromPixels(frame.pixels, frame.width, frame.height, frame.channels);
    const shown = await sharp(image)
      .resize(640, 360, { kernel: 'linear' })
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const output = lumaFromPixels(shown.data, 640, 360, 3);
    const naive = regions.map((r) => measureQuality(cropLuma(input, r), cropLuma(output, r)).ssim);
    expect(await port.leastRegionSsim(image, regions)).toBeCloseTo(Math.min(...naive), 1);
    const exact = await sharp(frame.pixels, { raw: { ...size, channels: 3 } })
      .png()
      .toBuffer();
    expect(await port.leastRegionSsim(exact, regions)).toBe(1);
  });

  it("leaves the report to the engine's measurement where the two factors agree", async () => {
    const size = { width: 1280, height: 720 };
    const port = createSharpEnginePort(await decodeFrame(await encodeFrame('scene', size)));
    const encoded = await port.encode({ ...candidate, width: 640, height: 360, scale: 0.5 });
    expect(await port.reportedQuality(encoded)).toBeUndefined();
  });

  it('lets libvips run each operation on as many threads as the process may run encodes', () => {
    const before = sharp.concurrency();
    try {
      useImagingThreads(2);
      expect(sharp.concurrency()).toBe(2);
      useImagingThreads(1);
      expect(sharp.concurrency()).toBe(1);
    } finally {
      sharp.concurrency(before);
    }
  });
});
