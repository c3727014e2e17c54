import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodeFrame } from '../../../functions/platform/imaging/frame-decoder.ts';
import { createSharpEnginePort } from '../../../functions/platform/imaging/sharp-engine-port.ts';
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
});
