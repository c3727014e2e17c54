import sharp from 'sharp';
import { type Candidate, outputSize } from '../../core/engine/candidates.ts';
import { decodeFrame } from './frame-decoder.ts';
import { createSharpEnginePort } from './sharp-engine-port.ts';

/** The synthetic frame's size: in `bench:cold` it saved more than 640x360 or 160x90 did. */
const WIDTH = 320;
const HEIGHT = 180;

/** A smooth gradient with a grid of edges, RGB: content every codec path has real work on. */
function syntheticPixels(): Buffer {
  const pixels = Buffer.alloc(WIDTH * HEIGHT * 3);
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < WIDTH; x++) {
      const edge = (x >> 4) % 2 === (y >> 4) % 2 ? 40 : 0;
      const at = (y * WIDTH + x) * 3;
      pixels[at] = (x * 255) / WIDTH;
      pixels[at + 1] = ((y * 255) / HEIGHT + edge) & 0xff;
      pixels[at + 2] = 128 + edge;
    }
  }
  return pixels;
}

const candidate = (format: 'jpeg' | 'webp', scale: number): Candidate => ({
  format,
  quality: 60,
  scale,
  ...outputSize({ width: WIDTH, height: HEIGHT }, scale),
});

/**
 * Runs once, on a synthetic 320x180 frame, each path a frame takes: the JPEG decode of the input,
 * JPEG and WebP encodes at full and half scale, and their measurement (decode, upscale, SSIM and
 * PSNR). Otherwise a process pays on its first frame for libvips' first use of each operation and
 * for V8 compiling the quality kernels, which leaves the engine no time to search that frame
 * under the default latency budget (`npm run bench:cold` measures both).
 *
 * For processes that start before they serve (the gRPC task, `npm start`): call it before
 * listening. The compress Lambda does not: an on-demand Lambda runs its init on the first
 * request's path, where the warm-up costs more than it saves that frame. AVIF is left out: the
 * engine rarely has time for it.
 */
export async function warmUpImaging(): Promise<void> {
  const input = await sharp(syntheticPixels(), {
    raw: { width: WIDTH, height: HEIGHT, channels: 3 },
  })
    .jpeg({ quality: 90 })
    .toBuffer();
  const frame = await decodeFrame(input);
  const port = createSharpEnginePort(frame);
  try {
    port.activity();
    for (const format of ['jpeg', 'webp'] as const) {
      for (const scale of [1, 0.5]) {
        await port.measure(await port.encode(candidate(format, scale)));
      }
    }
  } finally {
    port.finish();
  }
}
