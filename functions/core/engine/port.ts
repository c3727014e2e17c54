/**
 * The engine's only way to touch pixels. An adapter (sharp, in `functions/platform/`) implements it;
 * the tests use a deterministic fake. Encoding and measuring are separate calls so that the engine
 * can leave unmeasured an encoding it will not choose.
 */
import type { AnyCandidate } from './screen-candidates.ts';

/** An encoding the adapter produced and keeps (by `id`) until the caller takes or drops it. */
export interface Encoded {
  /** Adapter-assigned handle of the encoded buffer. */
  readonly id: number;
  /** The candidate it was encoded from. */
  readonly candidate: AnyCandidate;
  /** Size of the encoded output, in bytes. */
  readonly bytes: number;
  /** Actual output width in pixels. */
  readonly width: number;
  /** Actual output height in pixels. */
  readonly height: number;
  /** Wall time of the encode (resize included), in ms. */
  readonly encodeMs: number;
}

/** Quality of an encoding, measured on its decoded output against the input. */
export interface Measurement {
  /** SSIM, 0..1 (1 = identical). */
  readonly ssim: number;
  /** PSNR in dB (`Infinity` for identical images). */
  readonly psnrDb: number;
  /** Wall time of the measurement (decode included), in ms. */
  readonly measureMs: number;
}

/** Encodes candidates of one frame and measures them. */
export interface EnginePort {
  /**
   * Encodes the frame as the candidate says, a lossy grid candidate or a screen ladder one; rejects
   * when the encoder fails.
   */
  encode(candidate: AnyCandidate): Promise<Encoded>;
  /**
   * Measures SSIM and PSNR of an encoding from {@link EnginePort.encode}; rejects on failure. A
   * lossless encoding may be answered as identical (SSIM 1, PSNR 100 dB) without decoding it.
   */
  measure(encoded: Encoded): Promise<Measurement>;
  /**
   * The frame's activity (`frameActivity`), asked for when the session's model is cold and for a
   * `screen` frame (whether the screen ladder is worth trying); an adapter that cannot tell leaves
   * it out and the engine starts from content-agnostic priors and tries the ladder.
   */
  activity?(): number;
  /**
   * The frame's flatness (`frameFlatness`), asked for when a `screen` frame is too busy for the
   * screen ladder by its activity; an adapter that cannot tell leaves it out.
   */
  flatness?(): number;
}
