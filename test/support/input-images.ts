/**
 * Input frames as cameras, screens and image tools write them, built in memory: frames of one
 * colour or of two halves (to see their orientation), animated WebP (by sharp), APNG (chunks
 * written here: sharp writes no APNG), and a WebP animation cut down to one frame.
 */
import { crc32 } from 'node:zlib';
import sharp, { type Sharp } from 'sharp';

/** A `width` x `height` image of one colour, with an alpha channel when `alpha` is given. */
export function solidImage(
  width: number,
  height: number,
  colour: { r: number; g: number; b: number; alpha?: number },
): Sharp {
  const channels = colour.alpha === undefined ? 3 : 4;
  return sharp({ create: { width, height, channels, background: colour } });
}

/** A `width` x `height` image whose left half is red and right half blue: its orientation shows. */
export function halvesImage(width: number, height: number): Sharp {
  const pixels = Buffer.alloc(width * height * 3);
  for (let at = 0; at < width * height; at++) {
    const left = at % width < width / 2;
    pixels[at * 3] = left ? 255 : 0;
    pixels[at * 3 + 2] = left ? 0 : 255;
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } });
}

/** A two-frame animated WebP, as sharp writes it (VP8X, ANIM, one ANMF per frame). */
export async function animatedWebp(width = 320, height = 180): Promise<Buffer> {
  const frames = await Promise.all([
    solidImage(width, height, { r: 200, g: 40, b: 40 }).png().toBuffer(),
    solidImage(width, height, { r: 40, g: 40, b: 200 }).png().toBuffer(),
  ]);
  return sharp(frames, { join: { animated: true } })
    .webp()
    .toBuffer();
}

/** The RIFF chunks of a WebP after its 12-byte header, each with its header and padding. */
function riffChunks(webp: Buffer): { type: string; bytes: Buffer }[] {
  const chunks: { type: string; bytes: Buffer }[] = [];
  for (let at = 12; at + 8 <= webp.length; ) {
    const size = webp.readUInt32LE(at + 4);
    const end = at + 8 + size + (size % 2);
    chunks.push({ type: webp.toString('latin1', at, at + 4), bytes: webp.subarray(at, end) });
    at = end;
  }
  return chunks;
}

/** An animated WebP whose animation holds one frame: the animation flag set, one ANMF chunk. */
export async function oneFrameAnimatedWebp(width = 320, height = 180): Promise<Buffer> {
  const chunks = riffChunks(await animatedWebp(width, height));
  const firstFrame = chunks.findIndex((chunk) => chunk.type === 'ANMF');
  const body = Buffer.concat(chunks.slice(0, firstFrame + 1).map((chunk) => chunk.bytes));
  const header = Buffer.from('RIFF\0\0\0\0WEBP', 'latin1');
  header.writeUInt32LE(4 + body.length, 4);
  return Buffer.concat([header, body]);
}

/** One PNG chunk: length, type, data, CRC of type and data. */
export function pngChunk(type: string, data: Buffer): Buffer {
  const typed = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typed));
  return Buffer.concat([length, typed, crc]);
}

/** The chunks of a PNG after its signature. */
function pngChunks(png: Buffer): { type: string; data: Buffer }[] {
  const chunks: { type: string; data: Buffer }[] = [];
  for (let at = 8; at + 12 <= png.length; ) {
    const length = png.readUInt32BE(at);
    chunks.push({
      type: png.toString('latin1', at + 4, at + 8),
      data: png.subarray(at + 8, at + 8 + length),
    });
    at += 12 + length;
  }
  return chunks;
}

/** An APNG frame control chunk's data: the whole canvas, 1/10 s, no disposal, source blend. */
function frameControl(sequence: number, width: number, height: number): Buffer {
  const data = Buffer.alloc(26);
  data.writeUInt32BE(sequence, 0);
  data.writeUInt32BE(width, 4);
  data.writeUInt32BE(height, 8);
  data.writeUInt16BE(1, 20);
  data.writeUInt16BE(10, 22);
  return data;
}

/**
 * An APNG of `frames` frames (at least 1): the PNG's image as the first frame, repeated as `fdAT`
 * chunks for the others, `acTL` declaring `frames`. With `frames` 1 it is a still image that
 * carries an `acTL`.
 */
export async function apng(frames: number, width = 320, height = 180): Promise<Buffer> {
  const png = await solidImage(width, height, { r: 30, g: 160, b: 90 }).png().toBuffer();
  const chunks = pngChunks(png);
  const idat = chunks.filter((chunk) => chunk.type === 'IDAT');
  const sequence = (n: number) => {
    const bytes = Buffer.alloc(4);
    bytes.writeUInt32BE(n);
    return bytes;
  };
  const animationControl = Buffer.alloc(8);
  animationControl.writeUInt32BE(frames, 0);
  const out: Buffer[] = [png.subarray(0, 8)];
  let next = 0;
  for (const chunk of chunks) {
    if (chunk.type === 'IEND') continue;
    if (chunk.type === 'IDAT' && chunk === idat[0]) {
      out.push(pngChunk('fcTL', frameControl(next++, width, height)));
    }
    out.push(pngChunk(chunk.type, chunk.data));
    if (chunk.type === 'IHDR') out.push(pngChunk('acTL', animationControl));
  }
  for (let frame = 1; frame < frames; frame++) {
    out.push(pngChunk('fcTL', frameControl(next++, width, height)));
    for (const chunk of idat) {
      out.push(pngChunk('fdAT', Buffer.concat([sequence(next++), chunk.data])));
    }
  }
  out.push(pngChunk('IEND', Buffer.alloc(0)));
  return Buffer.concat(out);
}
