import sharp, { type Sharp } from 'sharp';
import { type FrameTexture, frameTexture } from '../../core/engine/activity.ts';
import type { Candidate } from '../../core/engine/candidates.ts';
import type { Encoded, EnginePort, Measurement } from '../../core/engine/port.ts';
import {
  type AnyCandidate,
  isScreenCandidate,
  type ScreenCandidate,
} from '../../core/engine/screen-candidates.ts';
import {
  cropLuma,
  type LumaImage,
  lumaFromPixels,
  type Region,
  resizeBilinear,
} from '../../core/quality/luma.ts';
import {
  analysisFactor,
  measurePixels,
  prepareReference,
  type QualityReference,
  referenceFactor,
  releaseReference,
  ssim,
} from '../../core/quality/ssim.ts';
import type { DecodedFrame } from './frame-decoder.ts';

/** The engine port on sharp for one frame, plus access to the encoded buffers it keeps. */
export interface SharpEnginePort extends EnginePort {
  /** The encoded bytes of an encoding this port produced. */
  output(encoded: Encoded): Buffer;
  /** The input's side of every measurement, prepared once per frame (see `prepareReference`). */
  reference(): QualityReference;
  /** The frame's activity (`frameActivity`), for the engine's cold start. */
  activity(): number;
  /** The frame's flatness (`frameFlatness`), for the screen ladder. */
  flatness(): number;
  /**
   * Measures an encoded image (the one the viewer has) against the frame, upscaled first when it is
   * smaller; rejects when it cannot be decoded.
   */
  compare(image: Buffer): Promise<Measurement>;
  /**
   * The quality a frame reports of what goes out (an encoding of this port, or an encoded image
   * such as the viewer's): measured at Wang's analysis factor (`referenceFactor`), or undefined
   * where that is the engine's own factor and the engine's measurement is already the reported one.
   */
  reportedQuality(image: Encoded | Buffer): Promise<Measurement | undefined>;
  /**
   * The least SSIM of an encoded image (upscaled to the frame first when smaller) against the frame
   * over one of `regions` alone, at full resolution: a typed word moves a whole screen's SSIM too
   * little to tell whether it is legible.
   */
  leastRegionSsim(image: Buffer, regions: readonly Region[]): Promise<number>;
  /**
   * Ends the frame's measurements: the reference's buffers go back for the next frame to reuse.
   * Encoded outputs stay available; `measure` rejects from now on.
   */
  finish(): void;
}

// Frames are seen once; libvips' operation cache would only hold memory.
sharp.cache(false);

/**
 * Lets libvips run each operation on `threads` threads: one per encode the process may run at once
 * (`ENGINE_PARALLEL_ENCODES`, its vCPUs). sharp's own default on glibc is one.
 */
export function useImagingThreads(threads: number): void {
  if (sharp.concurrency() !== threads) sharp.concurrency(threads);
}

/** Encoder settings per format, chosen for real-time use (see the README's engine section). */
function encoder(image: Sharp, candidate: AnyCandidate): Sharp {
  return isScreenCandidate(candidate)
    ? ladderEncoder(image, candidate)
    : lossyEncoder(image, candidate);
}

/** Encoder settings of the screen ladder, the fastest that still do what the step is for. */
function ladderEncoder(image: Sharp, candidate: ScreenCandidate): Sharp {
  switch (candidate.encoding) {
    case 'lossless':
      return image.webp({ lossless: true, effort: 0 });
    case 'near_lossless':
      // WebP applies its near-lossless preprocessing only from effort 1: at 0 it is lossless.
      return image.webp({ nearLossless: true, quality: candidate.level, effort: 1 });
    case 'palette':
      // Without dithering flat UI colours stay flat, which both looks right and compresses.
      return image.png({ palette: true, colours: candidate.level, dither: 0, effort: 1 });
  }
}

function lossyEncoder(image: Sharp, candidate: Candidate): Sharp {
  switch (candidate.format) {
    case 'jpeg':
      // Huffman optimisation saves a few percent for well under a millisecond; mozjpeg's trellis
      // search would cost ~10x the encode time.
      return image.jpeg({
        quality: candidate.quality,
        optimiseCoding: true,
        chromaSubsampling: '4:2:0',
      });
    case 'webp':
      // Effort 0..1 keeps WebP within a few times JPEG's encode time; higher efforts cost 5-10x.
      return image.webp({ quality: candidate.quality, effort: 0, smartSubsample: false });
    case 'avif':
      return image.avif({ quality: candidate.quality, effort: 0, chromaSubsampling: '4:2:0' });
  }
}

/**
 * Implements the engine's port with sharp: encodes candidates of one decoded frame (resized with a
 * bilinear-class kernel for speed), keeps the outputs by id, and measures an output by decoding it
 * and comparing its BT.601 luma with the input's (upscaled back to the input size first when it was
 * downscaled). A lossless encoding measures as identical without a decode.
 *
 * The input's side of the measurement is prepared while the frame's first encode runs on libuv's
 * thread pool, so a frame that takes one encode pays for it in time the encode takes anyway.
 */
export function createSharpEnginePort(frame: DecodedFrame): SharpEnginePort {
  let prepared: QualityReference | undefined;
  let finished = false;
  let texture: FrameTexture | undefined;
  // Asked for at a cold start and again for a screen frame: computed once.
  const textureOf = () => {
    texture ??= frameTexture(frame.pixels, frame.width, frame.height, frame.channels);
    return texture;
  };
  const reference = (): QualityReference => {
    if (finished) throw new Error('The frame is finished: its reference was released');
    prepared ??= prepareReference(
      lumaFromPixels(frame.pixels, frame.width, frame.height, frame.channels),
    );
    return prepared;
  };
  const outputs = new Map<number, Buffer>();
  let nextId = 1;
  const raw = { width: frame.width, height: frame.height, channels: frame.channels };

  return {
    reference,
    activity: () => textureOf().activity,
    flatness: () => textureOf().flatness,
    finish() {
      finished = true;
      if (prepared !== undefined) releaseReference(prepared);
      prepared = undefined;
    },
    output(encoded) {
      const buffer = outputs.get(encoded.id);
      if (!buffer) throw new Error(`No output for encoding ${encoded.id}`);
      return buffer;
    },
    async encode(candidate) {
      const started = performance.now();
      let image = sharp(frame.pixels, { raw });
      if (candidate.width !== frame.width || candidate.height !== frame.height) {
        image = image.resize(candidate.width, candidate.height, { fit: 'fill', kernel: 'linear' });
      }
      const encoding = encoder(image, candidate).toBuffer({ resolveWithObject: true });
      // Synchronous work while sharp encodes off the main thread; the promise is awaited right
      // after, so a failed encode is still handled here.
      if (!finished) reference();
      const { data, info } = await encoding;
      const id = nextId++;
      outputs.set(id, data);
      return {
        id,
        candidate,
        bytes: data.length,
        width: info.width,
        height: info.height,
        encodeMs: performance.now() - started,
      };
    },
    async measure(encoded): Promise<Measurement> {
      if (isLossless(encoded.candidate)) return { ssim: 1, psnrDb: 100, measureMs: 0 };
      const buffer = outputs.get(encoded.id);
      if (!buffer) throw new Error(`No output for encoding ${encoded.id}`);
      return measureImage(reference(), buffer);
    },
    compare: (image) => measureImage(reference(), image),
    async reportedQuality(image) {
      const factor = referenceFactor(frame.width, frame.height);
      if (factor === analysisFactor(frame.width, frame.height)) return undefined;
      if (!Buffer.isBuffer(image) && isLossless(image.candidate)) {
        return { ssim: 1, psnrDb: 100, measureMs: 0 };
      }
      const buffer = Buffer.isBuffer(image) ? image : outputs.get(image.id);
      if (!buffer) throw new Error('No output for the encoding to report');
      return measureAtFactor(reference(), factor, buffer);
    },
    async leastRegionSsim(image, regions) {
      const shown = await decodedLuma(image, frame.width, frame.height);
      const { luma } = reference();
      return Math.min(...regions.map((r) => ssim(cropLuma(luma, r), cropLuma(shown, r))));
    },
  };
}

/** `image` decoded to luma at `width x height`, upscaled bilinearly when it is smaller. */
async function decodedLuma(image: Buffer, width: number, height: number): Promise<LumaImage> {
  const pixels = await decodePixels(image);
  const luma = lumaFromPixels(pixels.data, pixels.width, pixels.height, pixels.channels);
  return luma.width === width && luma.height === height
    ? luma
    : resizeBilinear(luma, width, height);
}

/**
 * Measures `image` against the frame of `engine` (the engine's prepared reference) at another
 * analysis factor. Only the frame that goes out is measured twice: its report is the reference's
 * figure, while the engine compares every candidate at its cheaper, bounded factor.
 */
async function measureAtFactor(
  engine: QualityReference,
  factor: number,
  image: Buffer,
): Promise<Measurement> {
  const started = performance.now();
  const other = prepareReference(engine.luma, { factor });
  try {
    const measured = await measureImage(other, image);
    return { ...measured, measureMs: performance.now() - started };
  } finally {
    releaseReference(other);
  }
}

/** Lossless WebP decodes to the input exactly (a test decodes it to check): nothing to measure. */
function isLossless(candidate: AnyCandidate): boolean {
  return isScreenCandidate(candidate) && candidate.encoding === 'lossless';
}

/** Decodes `image` and measures it against the prepared reference. */
async function measureImage(reference: QualityReference, image: Buffer): Promise<Measurement> {
  const started = performance.now();
  const { data, width, height, channels } = await decodePixels(image);
  const measured = measurePixels(reference, data, width, height, channels);
  return { ssim: measured.ssim, psnrDb: measured.psnrDb, measureMs: performance.now() - started };
}

/** `image` decoded to grey or RGB pixels, without alpha. */
async function decodePixels(image: Buffer) {
  const { data, info } = await sharp(image)
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const channels: 1 | 3 = info.channels === 1 ? 1 : 3;
  return { data, width: info.width, height: info.height, channels };
}
