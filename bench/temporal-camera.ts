/**
 * The camera content of the temporal benchmark, built procedurally so a seed always gives the same
 * pixels: a landscape wide enough to pan across (sky, hills, trees, houses, a road, with texture at
 * two scales and a slight lens blur), a room with a person in it whose head sways and whose mouth
 * and eyes move, and the sensor noise a camera adds to every frame. Shapes are SVG drawn by sharp
 * (librsvg); texture and noise are added in JavaScript from a seeded PRNG.
 */
import sharp from 'sharp';
import { prng } from '../test/support/frames.ts';
import type { RgbImage } from './temporal-screen.ts';

/** Size of a camera frame. */
export const CAMERA = { width: 640, height: 360 } as const;

const clamp = (value: number) => (value < 0 ? 0 : value > 255 ? 255 : Math.round(value));

async function rasterise(svg: string, blurSigma: number): Promise<RgbImage> {
  const image = sharp(Buffer.from(svg)).removeAlpha();
  const { data, info } = await (blurSigma > 0 ? image.blur(blurSigma) : image)
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { width: info.width, height: info.height, data };
}

/**
 * Adds value noise in place: a lattice of random offsets every `cell` px, interpolated bilinearly,
 * up to +-`amplitude` on all three channels (foliage, grass and wall texture).
 */
function addTexture(image: RgbImage, seed: number, cell: number, amplitude: number): void {
  const random = prng(seed);
  const columns = Math.ceil(image.width / cell) + 2;
  const rows = Math.ceil(image.height / cell) + 2;
  const lattice = Float32Array.from(
    { length: columns * rows },
    () => (random() * 2 - 1) * amplitude,
  );
  for (let y = 0; y < image.height; y++) {
    const gy = y / cell;
    const y0 = Math.floor(gy);
    const fy = gy - y0;
    for (let x = 0; x < image.width; x++) {
      const gx = x / cell;
      const x0 = Math.floor(gx);
      const fx = gx - x0;
      const at = (cx: number, cy: number) => lattice[cy * columns + cx] as number;
      const top = at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx;
      const bottom = at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx;
      const offset = top * (1 - fy) + bottom * fy;
      const i = (y * image.width + x) * 3;
      for (let c = 0; c < 3; c++) image.data[i + c] = clamp((image.data[i + c] as number) + offset);
    }
  }
}

/** A smooth ridge line as an SVG path, closed along the bottom of the image. */
function ridge(
  width: number,
  height: number,
  base: number,
  waves: number[][],
  fill: string,
): string {
  const points: string[] = [];
  for (let x = 0; x <= width; x += 8) {
    const y = waves.reduce((sum, [amplitude, period, phase]) => {
      return sum + (amplitude as number) * Math.sin(x / (period as number) + (phase as number));
    }, base);
    points.push(`${x},${y.toFixed(1)}`);
  }
  return `<path d="M0,${height} L${points.join(' L')} L${width},${height} Z" fill="${fill}"/>`;
}

/** Trees: a trunk under a crown of a few overlapping ellipses in shades of green. */
function trees(random: () => number, width: number, count: number): string[] {
  return Array.from({ length: count }, () => {
    const x = random() * width;
    const y = 215 + random() * 60;
    const size = 14 + random() * 22;
    const crown = Array.from({ length: 4 }, () => {
      const shade = 40 + Math.floor(random() * 50);
      const [ox, oy] = [(random() - 0.5) * size, (random() - 0.7) * size];
      return `<ellipse cx="${(x + ox).toFixed(1)}" cy="${(y + oy).toFixed(1)}" rx="${(size * (0.4 + random() * 0.3)).toFixed(1)}" ry="${(size * (0.5 + random() * 0.3)).toFixed(1)}" fill="rgb(${shade - 20},${shade + 45},${shade - 15})"/>`;
    });
    return [
      `<rect x="${(x - 2).toFixed(1)}" y="${y.toFixed(1)}" width="4" height="${(size * 0.8).toFixed(1)}" fill="#4a3626"/>`,
      ...crown,
    ].join('');
  });
}

function houses(random: () => number, width: number, count: number): string[] {
  return Array.from({ length: count }, () => {
    const x = random() * (width - 80);
    const w = 40 + random() * 40;
    const h = 28 + random() * 20;
    const y = 250 - h + random() * 20;
    const wall = ['#d8cbb5', '#c9b8a0', '#e4ddd0', '#b9a58c'][Math.floor(random() * 4)];
    return [
      `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${w.toFixed(1)}" height="${h.toFixed(1)}" fill="${wall}"/>`,
      `<polygon points="${(x - 4).toFixed(1)},${y.toFixed(1)} ${(x + w / 2).toFixed(1)},${(y - h * 0.6).toFixed(1)} ${(x + w + 4).toFixed(1)},${y.toFixed(1)}" fill="#8c3b2e"/>`,
      `<rect x="${(x + w * 0.2).toFixed(1)}" y="${(y + h * 0.3).toFixed(1)}" width="8" height="8" fill="#5b6f80"/>`,
      `<rect x="${(x + w * 0.6).toFixed(1)}" y="${(y + h * 0.45).toFixed(1)}" width="9" height="${(h * 0.55).toFixed(1)}" fill="#5a4030"/>`,
    ].join('');
  });
}

/**
 * A landscape `width` px wide and {@link CAMERA}`.height` tall, to pan a camera window across:
 * a graded sky with a sun and soft clouds, two ranges of hills, houses, trees and a road, textured
 * at two scales and slightly blurred, as a lens would.
 */
export async function renderLandscape(width: number, seed: number): Promise<RgbImage> {
  const random = prng(seed);
  const { height } = CAMERA;
  const clouds = Array.from({ length: Math.ceil(width / 160) }, () => {
    const [x, y] = [random() * width, 30 + random() * 70];
    return `<ellipse cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" rx="${(40 + random() * 60).toFixed(1)}" ry="${(10 + random() * 12).toFixed(1)}" fill="#ffffff" opacity="0.7" filter="url(#soft)"/>`;
  });
  const svg = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">`,
    '<defs>',
    '<linearGradient id="sky" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#5d8fc9"/><stop offset="0.6" stop-color="#cfe0ee"/></linearGradient>',
    '<radialGradient id="sun"><stop offset="0" stop-color="#fff8dc"/><stop offset="1" stop-color="#fff8dc" stop-opacity="0"/></radialGradient>',
    '<linearGradient id="field" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#7c9a4a"/><stop offset="1" stop-color="#4f6e2c"/></linearGradient>',
    '<filter id="soft"><feGaussianBlur stdDeviation="8"/></filter>',
    '</defs>',
    '<rect width="100%" height="100%" fill="url(#sky)"/>',
    `<circle cx="${(width * 0.3).toFixed(1)}" cy="70" r="90" fill="url(#sun)"/>`,
    ...clouds,
    ridge(
      width,
      height,
      170,
      [
        [14, 90, 0.3],
        [8, 37, 1.1],
      ],
      '#7d93a8',
    ),
    ridge(
      width,
      height,
      215,
      [
        [12, 120, 2.0],
        [6, 45, 0.4],
      ],
      'url(#field)',
    ),
    ...houses(random, width, Math.ceil(width / 220)),
    ...trees(random, width, Math.ceil(width / 18)),
    `<path d="M0,${height} C${width * 0.3},300 ${width * 0.6},330 ${width},290 L${width},305 C${width * 0.6},345 ${width * 0.3},320 0,${height + 30} Z" fill="#9b8f7d"/>`,
    '</svg>',
  ].join('');
  const image = await rasterise(svg, 0);
  addTexture(image, seed + 1, 3, 7);
  addTexture(image, seed + 2, 23, 9);
  return blurred(image, 0.6);
}

async function blurred(image: RgbImage, sigma: number): Promise<RgbImage> {
  const { width, height } = image;
  const data = await sharp(image.data, { raw: { width, height, channels: 3 } })
    .blur(sigma)
    .raw()
    .toBuffer();
  return { width, height, data };
}

/** The room behind the person: a wall, a window, a bookshelf and a plant, textured and blurred. */
export async function renderRoom(seed: number): Promise<RgbImage> {
  const random = prng(seed);
  const books = Array.from({ length: 22 }, (_, i) => {
    const shelf = Math.floor(i / 11);
    const x = 470 + (i % 11) * 13;
    const h = 38 + random() * 16;
    const colour = `rgb(${60 + Math.floor(random() * 150)},${50 + Math.floor(random() * 100)},${40 + Math.floor(random() * 120)})`;
    return `<rect x="${x}" y="${(132 + shelf * 70 - h).toFixed(1)}" width="11" height="${h.toFixed(1)}" fill="${colour}"/>`;
  });
  const leaves = Array.from({ length: 18 }, () => {
    const [x, y] = [60 + random() * 70, 220 + random() * 60];
    return `<ellipse cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" rx="14" ry="6" transform="rotate(${(random() * 180).toFixed(0)} ${x.toFixed(1)} ${y.toFixed(1)})" fill="#3f7a3a"/>`;
  });
  const { width, height } = CAMERA;
  const svg = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">`,
    '<defs><linearGradient id="wall" x1="0" y1="0" x2="1" y2="1"><stop offset="0" stop-color="#d9cbb4"/><stop offset="1" stop-color="#a8967c"/></linearGradient>',
    '<linearGradient id="glass" x1="0" y1="0" x2="0" y2="1"><stop offset="0" stop-color="#e9f2f8"/><stop offset="1" stop-color="#b7cbd8"/></linearGradient></defs>',
    '<rect width="100%" height="100%" fill="url(#wall)"/>',
    '<rect x="40" y="40" width="150" height="150" fill="#f2efe8"/><rect x="50" y="50" width="130" height="130" fill="url(#glass)"/>',
    '<rect x="113" y="50" width="4" height="130" fill="#f2efe8"/><rect x="50" y="113" width="130" height="4" fill="#f2efe8"/>',
    '<rect x="460" y="60" width="160" height="220" fill="#6b4b32"/><rect x="466" y="66" width="148" height="208" fill="#4b3424"/>',
    '<rect x="460" y="132" width="160" height="6" fill="#6b4b32"/><rect x="460" y="202" width="160" height="6" fill="#6b4b32"/>',
    ...books,
    '<path d="M70,360 L80,290 L120,290 L130,360 Z" fill="#8a5a3c"/>',
    ...leaves,
    '</svg>',
  ].join('');
  const image = await rasterise(svg, 0);
  addTexture(image, seed + 1, 4, 4);
  return blurred(image, 0.8);
}

/** Where the person's face is at a moment: the head's offset, the mouth's opening, the eyes. */
export interface Pose {
  readonly dx: number;
  readonly dy: number;
  /** 0 (closed) to 1 (open). */
  readonly mouth: number;
  readonly blink: boolean;
}

/** The pose at `seconds`: a slow sway, speech at about three syllables a second, a blink every ~3 s. */
export function poseAt(seconds: number, seed: number): Pose {
  const syllable = Math.floor(seconds * 6);
  const loudness = prng(seed * 7919 + syllable)();
  return {
    dx: 3 * Math.sin(2 * Math.PI * 0.3 * seconds),
    dy: 1.5 * Math.sin(2 * Math.PI * 0.23 * seconds + 1),
    mouth: loudness * Math.abs(Math.sin(Math.PI * seconds * 6)),
    blink: seconds % 3.1 > 2.95,
  };
}

/** The person in `pose`, as an SVG over a transparent background. */
function personSvg(pose: Pose): string {
  const cx = 320 + pose.dx;
  const cy = 165 + pose.dy;
  const f = (value: number) => value.toFixed(2);
  const eye = (x: number) =>
    pose.blink
      ? `<rect x="${f(x - 9)}" y="${f(cy - 12)}" width="18" height="2" fill="#5a3d30"/>`
      : `<ellipse cx="${f(x)}" cy="${f(cy - 11)}" rx="9" ry="5" fill="#f4f1ec"/><circle cx="${f(x)}" cy="${f(cy - 11)}" r="4" fill="#3b2a20"/>`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${CAMERA.width}" height="${CAMERA.height}">`,
    '<defs><radialGradient id="skin" cx="0.45" cy="0.4" r="0.7"><stop offset="0" stop-color="#e7bfa0"/><stop offset="1" stop-color="#b98462"/></radialGradient>',
    '</defs>',
    '<g>',
    `<path d="M${f(cx - 150)},360 C${f(cx - 140)},270 ${f(cx - 60)},255 ${f(cx)},255 C${f(cx + 60)},255 ${f(cx + 140)},270 ${f(cx + 150)},360 Z" fill="#2f4a6b"/>`,
    `<rect x="${f(cx - 22)}" y="${f(cy + 50)}" width="44" height="50" fill="#c18d6b"/>`,
    `<ellipse cx="${f(cx)}" cy="${f(cy)}" rx="58" ry="74" fill="url(#skin)"/>`,
    `<path d="M${f(cx - 60)},${f(cy - 10)} C${f(cx - 66)},${f(cy - 90)} ${f(cx + 66)},${f(cy - 90)} ${f(cx + 60)},${f(cy - 10)} C${f(cx + 40)},${f(cy - 60)} ${f(cx - 40)},${f(cy - 60)} ${f(cx - 60)},${f(cy - 10)} Z" fill="#3a2619"/>`,
    eye(cx - 22),
    eye(cx + 22),
    `<path d="M${f(cx - 32)},${f(cy - 24)} Q${f(cx - 22)},${f(cy - 30)} ${f(cx - 12)},${f(cy - 24)} M${f(cx + 12)},${f(cy - 24)} Q${f(cx + 22)},${f(cy - 30)} ${f(cx + 32)},${f(cy - 24)}" stroke="#3a2619" stroke-width="3" fill="none"/>`,
    `<path d="M${f(cx)},${f(cy - 8)} L${f(cx - 7)},${f(cy + 14)} L${f(cx + 5)},${f(cy + 15)}" stroke="#a06e50" stroke-width="2" fill="none"/>`,
    `<ellipse cx="${f(cx)}" cy="${f(cy + 34)}" rx="${f(15 + 3 * pose.mouth)}" ry="${f(2 + 9 * pose.mouth)}" fill="#7a3b34"/>`,
    '</g></svg>',
  ].join('');
}

/** The room with the person in `pose`. */
export async function renderPerson(room: RgbImage, pose: Pose): Promise<RgbImage> {
  const { width, height } = room;
  const data = await sharp(room.data, { raw: { width, height, channels: 3 } })
    .composite([{ input: Buffer.from(personSvg(pose)) }])
    .removeAlpha()
    .raw()
    .toBuffer();
  // The room is already soft: the person gets the same lens.
  return blurred({ width, height, data }, 0.7);
}

/** Standard normal samples, drawn once (Box-Muller): sensor noise picks from them at random. */
const NORMALS = (() => {
  const random = prng(0x5eed);
  return Float64Array.from({ length: 1 << 16 }, () => {
    const u = 1 - random();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * random());
  });
})();

/**
 * `image` with Gaussian sensor noise of standard deviation `sigma` on every sample, picked by a
 * xorshift generator seeded with `seed` (so a frame's noise is the same on every run and different
 * from the next frame's).
 */
export function withSensorNoise(image: RgbImage, sigma: number, seed: number): RgbImage {
  const noise = Int16Array.from(NORMALS, (normal) => Math.round(sigma * normal));
  const data = Buffer.alloc(image.data.length);
  // A clamped view rounds and saturates on assignment: the noisy sample stays within 0..255.
  const out = new Uint8ClampedArray(data.buffer, data.byteOffset, data.length);
  const src = image.data;
  let state = (seed ^ 0x9e3779b9) >>> 0 || 1;
  for (let i = 0; i < out.length; i++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    out[i] = (src[i] as number) + (noise[(state >>> 0) & 0xffff] as number);
  }
  return { width: image.width, height: image.height, data };
}
