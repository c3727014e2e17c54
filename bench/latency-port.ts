/**
 * The production engine port with a stopwatch on each call, for `bench:latency`: encodes go to the
 * sharp port unchanged (so the first one still prepares the input's reference while libvips
 * encodes, as in the service), and a measurement does what the port's own does, in two timed
 * steps: the output's decode by sharp, then `measurePixels` against the port's reference. The
 * decoded outputs are kept, for the kernels to be timed one at a time after the engine.
 */
import sharp from 'sharp';
import type { Encoded, Measurement } from '../functions/core/engine/port.ts';
import { isScreenCandidate } from '../functions/core/engine/screen-candidates.ts';
import { measurePixels } from '../functions/core/quality/ssim.ts';
import type { SharpEnginePort } from '../functions/platform/imaging/sharp-engine-port.ts';

/** One measurement of the engine's search, timed in its two steps. */
export interface TimedMeasurement {
  /** sharp's decode of the encoded output to raw pixels, ms. */
  readonly decodeMs: number;
  /** `measurePixels` (the kernels, fused), ms. */
  readonly kernelsMs: number;
  /** What the kernels measured. */
  readonly ssim: number;
  readonly psnrDb: number;
  /** The decoded output, for the kernels' split. */
  readonly output: { pixels: Buffer; width: number; height: number; channels: 1 | 3 };
}

/** What the port saw of one frame's search, in call order. */
export interface PortLog {
  /** Wall time of each encode, ms (the first includes what preparing the reference adds). */
  readonly encodes: number[];
  readonly measurements: TimedMeasurement[];
}

/** `port` with each encode and measurement timed into the returned log. */
export function timedPort(port: SharpEnginePort): { port: SharpEnginePort; log: PortLog } {
  const log: PortLog = { encodes: [], measurements: [] };
  const timed: SharpEnginePort = {
    ...port,
    async encode(candidate) {
      const started = performance.now();
      const encoded = await port.encode(candidate);
      log.encodes.push(performance.now() - started);
      return encoded;
    },
    async measure(encoded: Encoded): Promise<Measurement> {
      const { candidate } = encoded;
      // As the port: a lossless encoding is identical to the input, nothing is decoded.
      if (isScreenCandidate(candidate) && candidate.encoding === 'lossless') {
        return port.measure(encoded);
      }
      const started = performance.now();
      const { data, info } = await sharp(port.output(encoded))
        .removeAlpha()
        .raw()
        .toBuffer({ resolveWithObject: true });
      const decoded = performance.now();
      const channels = info.channels === 1 ? 1 : 3;
      const { ssim, psnrDb } = measurePixels(
        port.reference(),
        data,
        info.width,
        info.height,
        channels,
      );
      const done = performance.now();
      log.measurements.push({
        decodeMs: decoded - started,
        kernelsMs: done - decoded,
        ssim,
        psnrDb,
        output: { pixels: data, width: info.width, height: info.height, channels },
      });
      return { ssim, psnrDb, measureMs: done - started };
    },
  };
  return { port: timed, log };
}
