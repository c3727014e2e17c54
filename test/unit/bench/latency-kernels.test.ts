import { describe, expect, it } from 'vitest';
import { createKernelSplitter, type KernelSplitter } from '../../../bench/latency-kernels.ts';
import { lumaFromPixels } from '../../../functions/core/quality/luma.ts';
import { measurePixels, prepareReference } from '../../../functions/core/quality/ssim.ts';
import { framePixels } from '../../../test/support/frames.ts';

const WIDTH = 320;
const HEIGHT = 180;

/** Every other pixel of every other row: a half-size RGB output. */
function halved(pixels: Buffer): Buffer {
  const out = Buffer.alloc((WIDTH / 2) * (HEIGHT / 2) * 3);
  for (let y = 0; y < HEIGHT / 2; y++) {
    for (let x = 0; x < WIDTH / 2; x++) {
      pixels.copy(
        out,
        (y * (WIDTH / 2) + x) * 3,
        (2 * y * WIDTH + 2 * x) * 3,
        (2 * y * WIDTH + 2 * x) * 3 + 3,
      );
    }
  }
  return out;
}

function splitter(): KernelSplitter {
  const created = createKernelSplitter();
  if (typeof created === 'string') throw new Error(created);
  return created;
}

describe('the quality kernels called one at a time', () => {
  const input = framePixels('scene', WIDTH, HEIGHT, 1, 0);
  const reference = prepareReference(lumaFromPixels(input, WIDTH, HEIGHT, 3), { factor: 2 });
  const g = {
    width: WIDTH,
    height: HEIGHT,
    factor: reference.factor,
    analysisWidth: reference.width,
    analysisHeight: reference.height,
  };
  const kernels = splitter();

  it('prepare exactly the planes prepareReference does', () => {
    const { planes } = kernels.reference(input, 3, g);
    expect(planes.x).toEqual(reference.x);
    expect(planes.meanX).toEqual(reference.meanX);
    expect(planes.meanXX).toEqual(reference.meanXX);
  });

  it('measure a full-size and a downscaled output exactly as measurePixels does', () => {
    const { planes } = kernels.reference(input, 3, g);
    const outputs = [
      { pixels: framePixels('scene', WIDTH, HEIGHT, 1, 3), width: WIDTH, height: HEIGHT },
      {
        pixels: halved(framePixels('scene', WIDTH, HEIGHT, 1, 3)),
        width: WIDTH / 2,
        height: HEIGHT / 2,
      },
    ];
    for (const output of outputs) {
      const fused = measurePixels(reference, output.pixels, output.width, output.height, 3);
      const split = kernels.measure(reference.luma.data, planes, g, { ...output, channels: 3 });
      expect(split.ssim).toBe(fused.ssim);
      expect(10 * Math.log10((255 * 255 * WIDTH * HEIGHT) / split.sse)).toBe(fused.psnrDb);
    }
  });
});
