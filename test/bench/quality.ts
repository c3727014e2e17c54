/**
 * Benchmark: measured frame quality (SSIM + PSNR of the output against the input) with
 * `measureQuality`, at three frame sizes, with the automatic analysis factor and at full
 * resolution, each against the naive reference implementation (test/support/reference-ssim.ts)
 * timed in the same run on the same images.
 */
import type { LumaImage } from '../../functions/core/quality/luma.ts';
import { resizeBilinear } from '../../functions/core/quality/luma.ts';
import { analysisFactor, measureQuality, PSNR_CAP_DB } from '../../functions/core/quality/ssim.ts';
import { referencePsnr, referenceSsim } from '../support/reference-ssim.ts';
import { ms, summarise } from './stats.ts';

/** Time spent per case, in ms, unless the minimum iterations take longer. */
const BUDGET_MS = Number(process.env.BENCH_QUALITY_BUDGET_MS ?? 2_000);
const MIN_FAST_ITERATIONS = 30;
const MAX_ITERATIONS = 1_000;
/** The naive 4K full-resolution case takes seconds per call: a few calls are enough. */
const MIN_NAIVE_ITERATIONS = 2;

/** A synthetic frame: gradients, edges, a checkerboard patch, text-like strokes and sensor noise. */
function frame(width: number, height: number, seed: number): LumaImage {
  let state = seed >>> 0;
  const data = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
      const u = x / width;
      const v = y / height;
      let value = 60 + 120 * u + 40 * Math.sin(v * 9);
      if (u > 0.6 && v < 0.3) value = ((x >> 3) + (y >> 3)) % 2 ? 220 : 35;
      if (v > 0.65 && x % 9 < 2 && y % 17 < 12) value = 20;
      value += (state / 2 ** 32 - 0.5) * 8;
      data[y * width + x] = Math.min(255, Math.max(0, Math.round(value)));
    }
  }
  return { width, height, data };
}

/** A decoded "compressed" output: the frame with coding noise (deterministic). */
function degraded(img: LumaImage, seed: number): LumaImage {
  let state = seed >>> 0;
  const data = new Uint8Array(img.data.length);
  for (let i = 0; i < data.length; i++) {
    state = (Math.imul(state, 22_695_477) + 1) >>> 0;
    const noise = ((state >>> 8) / 2 ** 24 - 0.5) * 16;
    data[i] = Math.min(255, Math.max(0, Math.round((img.data[i] as number) + noise)));
  }
  return { width: img.width, height: img.height, data };
}

function time(run: () => void, minIterations: number, warmup: number): number[] {
  for (let i = 0; i < warmup; i++) run();
  const samples: number[] = [];
  const started = performance.now();
  while (
    samples.length < MAX_ITERATIONS &&
    (samples.length < minIterations || performance.now() - started < BUDGET_MS)
  ) {
    const t = performance.now();
    run();
    samples.push(performance.now() - t);
  }
  return samples;
}

interface Case {
  label: string;
  reference: LumaImage;
  output: LumaImage;
  factor: number | undefined;
}

/** Runs the benchmark and prints its table. */
export async function runQualityBench(): Promise<void> {
  const cases: Case[] = [];
  for (const [width, height] of [
    [640, 360],
    [1280, 720],
    [3840, 2160],
  ] as const) {
    const reference = frame(width, height, width);
    const output = degraded(reference, height);
    const auto = analysisFactor(width, height);
    cases.push({
      label: `${width}x${height}, auto F=${auto}`,
      reference,
      output,
      factor: undefined,
    });
    cases.push({ label: `${width}x${height}, F=1`, reference, output, factor: 1 });
  }
  const hd = cases[2] as Case;
  cases.splice(4, 0, {
    label: '1280x720 from a 640x360 output, auto F=3',
    reference: hd.reference,
    output: resizeBilinear(degraded(hd.reference, 5), 640, 360),
    factor: undefined,
  });

  console.log(
    `\nmeasureQuality (SSIM + PSNR on luma) vs the naive reference, same images, same run (budget ${BUDGET_MS} ms per cell)`,
  );
  console.log(
    '| case | fast p50 | fast p95 | n | naive p50 | naive p95 | n | speed-up (p50) | SSIM | abs diff vs naive | PSNR dB |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|---|');
  for (const c of cases) {
    const factor = c.factor ?? analysisFactor(c.reference.width, c.reference.height);
    let fast = measureQuality(c.reference, c.output, { factor });
    const fastSamples = time(
      () => {
        fast = measureQuality(c.reference, c.output, { factor });
      },
      MIN_FAST_ITERATIONS,
      5,
    );
    let naiveSsim = 0;
    let naivePsnr = 0;
    const naiveSamples = time(
      () => {
        // The naive path upscales with the same bilinear resize; what it replaces is the SSIM/PSNR.
        const shown =
          c.output.width === c.reference.width
            ? c.output
            : resizeBilinear(c.output, c.reference.width, c.reference.height);
        naiveSsim = referenceSsim(c.reference, shown, factor);
        naivePsnr = Math.min(PSNR_CAP_DB, referencePsnr(c.reference, shown));
      },
      MIN_NAIVE_ITERATIONS,
      0,
    );
    const f = summarise(fastSamples);
    const n = summarise(naiveSamples);
    console.log(
      `| ${c.label} | ${ms(f.p50)} | ${ms(f.p95)} | ${f.n} | ${ms(n.p50)} | ${ms(n.p95)} | ${n.n} | ${(
        n.p50 / f.p50
      ).toFixed(
        0,
      )}x | ${fast.ssim.toFixed(6)} | ${Math.abs(fast.ssim - naiveSsim).toExponential(1)} | ${fast.psnrDb.toFixed(3)} (naive ${naivePsnr.toFixed(3)}) |`,
    );
  }
}
