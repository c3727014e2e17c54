/**
 * Synthetic video frames for tests and benchmarks, generated from seeded pixel functions so every run
 * sees the same content: smooth gradients (easy), noise (hard), screen content with text-like strokes
 * and flat UI (sharp edges), a natural-looking scene, and a panning sequence of the latter.
 */
import sharp from 'sharp';

/** Kinds of synthetic content. */
export type FrameKind = 'gradient' | 'noise' | 'screen' | 'scene';

/** A seeded 32-bit PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const clamp = (value: number) => (value < 0 ? 0 : value > 255 ? 255 : Math.round(value));

/**
 * Raw RGB pixels of a frame of `kind`. `offsetX` pans the scene (for sequences); `seed` varies the
 * noise and the text layout.
 */
export function framePixels(
  kind: FrameKind,
  width: number,
  height: number,
  seed = 1,
  offsetX = 0,
): Buffer {
  const pixels = Buffer.alloc(width * height * 3);
  const random = prng(seed);
  const noise =
    kind === 'noise' || kind === 'scene'
      ? Float32Array.from({ length: 4096 }, () => random())
      : undefined;
  const strokes =
    kind === 'screen'
      ? Array.from({ length: 220 }, () => ({
          x: Math.floor(random() * width),
          y: Math.floor(random() * height),
          w: 2 + Math.floor(random() * 40),
          h: 2 + Math.floor(random() * 3),
        }))
      : [];
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const sx = x + offsetX;
      let r: number;
      let g: number;
      let b: number;
      if (kind === 'gradient') {
        r = (255 * x) / width;
        g = (255 * y) / height;
        b = 128 + 100 * Math.sin((x + y) / 97);
      } else if (kind === 'noise') {
        const n = noise?.[(x * 7 + y * 131 + seed) & 4095] ?? 0;
        r = 255 * n;
        g = 255 * (noise?.[(x * 13 + y * 17) & 4095] ?? 0);
        b = 255 * (noise?.[(x * 31 + y * 7 + 11) & 4095] ?? 0);
      } else if (kind === 'screen') {
        // A window with a title bar, panels and text-like strokes, flat colours and hard edges.
        const inTitle = y < height * 0.08;
        const inPanel = x < width * 0.22;
        r = inTitle ? 40 : inPanel ? 235 : 250;
        g = inTitle ? 60 : inPanel ? 238 : 250;
        b = inTitle ? 90 : inPanel ? 242 : 252;
      } else {
        // Soft shapes, a horizon and fine texture: closer to a camera frame.
        const sky = y < height * 0.45;
        const texture = (noise?.[(sx * 3 + y * 57) & 4095] ?? 0) * 18;
        const blob = 60 * Math.exp(-(((sx % 640) - 320) ** 2 + (y - height * 0.6) ** 2) / 9000);
        // Poles and a building give the pan hard, moving edges.
        const pole = sx % 211 < 9 && y > height * 0.3;
        const building = sx % 640 > 420 && sx % 640 < 560 && y > height * 0.2 && y < height * 0.7;
        const window_ = building && sx % 20 < 8 && y % 24 < 12;
        r = (sky ? 120 + (80 * y) / height : 70 + 40 * Math.sin(sx / 53)) + texture + blob;
        g = (sky ? 160 + (50 * y) / height : 110 + 30 * Math.cos(sx / 71)) + texture;
        b = (sky ? 220 : 60 + 20 * Math.sin((sx + y) / 37)) + texture - blob / 2;
        if (building)
          [r, g, b] = window_ ? [230, 220, 140] : [90 + texture, 85 + texture, 95 + texture];
        if (pole) [r, g, b] = [35, 30, 28];
      }
      pixels[i] = clamp(r);
      pixels[i + 1] = clamp(g);
      pixels[i + 2] = clamp(b);
    }
  }
  for (const stroke of strokes) {
    for (let y = stroke.y; y < Math.min(height, stroke.y + stroke.h); y++) {
      for (let x = stroke.x; x < Math.min(width, stroke.x + stroke.w); x++) {
        const i = (y * width + x) * 3;
        pixels[i] = 20;
        pixels[i + 1] = 20;
        pixels[i + 2] = 30;
      }
    }
  }
  return pixels;
}

/** Options of {@link encodeFrame}. */
export interface FrameOptions {
  width?: number;
  height?: number;
  seed?: number;
  offsetX?: number;
  format?: 'jpeg' | 'png' | 'webp';
  /** Encoder quality of the source frame (JPEG/WebP). */
  quality?: number;
}

/** A synthetic frame encoded as a client would send it (JPEG q90 by default). */
export async function encodeFrame(kind: FrameKind, options: FrameOptions = {}): Promise<Buffer> {
  const width = options.width ?? 640;
  const height = options.height ?? 360;
  const image = sharp(framePixels(kind, width, height, options.seed ?? 1, options.offsetX ?? 0), {
    raw: { width, height, channels: 3 },
  });
  const format = options.format ?? 'jpeg';
  if (format === 'png') return image.png({ compressionLevel: 6 }).toBuffer();
  if (format === 'webp') return image.webp({ quality: options.quality ?? 90 }).toBuffer();
  return image.jpeg({ quality: options.quality ?? 90 }).toBuffer();
}

/** `count` frames of a scene panning right by `step` pixels per frame. */
export async function panningSequence(
  count: number,
  options: FrameOptions & { step?: number } = {},
) {
  const frames: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    frames.push(await encodeFrame('scene', { ...options, offsetX: i * (options.step ?? 8) }));
  }
  return frames;
}
