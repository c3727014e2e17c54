/**
 * A deliberately naive SSIM and PSNR, written straight from Wang et al. (2004), eq. 13-14 with the
 * 11x11 circular-symmetric Gaussian weighting (sigma 1.5) of section III-C, used only as a test
 * oracle and benchmark baseline for functions/core/quality. It shares no code with the fast one:
 * a direct 2-D window per pixel, float64, nothing cached, nothing clever.
 */

/** Any greyscale image: row-major values, `width * height` of them. */
export interface GreyImage {
  readonly width: number;
  readonly height: number;
  readonly data: ArrayLike<number>;
}

const SIZE = 11;
const HALF = 5;

/** The 2-D Gaussian window, normalised to sum 1 (MATLAB's `fspecial('gaussian', 11, 1.5)`). */
function gaussianWindow(): number[][] {
  const window: number[][] = [];
  let sum = 0;
  for (let i = 0; i < SIZE; i++) {
    const row: number[] = [];
    for (let j = 0; j < SIZE; j++) {
      const value = Math.exp(-((i - HALF) ** 2 + (j - HALF) ** 2) / (2 * 1.5 * 1.5));
      row.push(value);
      sum += value;
    }
    window.push(row);
  }
  return window.map((row) => row.map((value) => value / sum));
}

/** The image as a 2-D array of numbers, reduced by `factor x factor` block means when factor > 1. */
function toGrid(img: GreyImage, factor: number): number[][] {
  const rows = Math.floor(img.height / factor);
  const cols = Math.floor(img.width / factor);
  const grid: number[][] = [];
  for (let r = 0; r < rows; r++) {
    const row: number[] = [];
    for (let c = 0; c < cols; c++) {
      let sum = 0;
      for (let dr = 0; dr < factor; dr++) {
        for (let dc = 0; dc < factor; dc++) {
          sum += Number(img.data[(r * factor + dr) * img.width + c * factor + dc]);
        }
      }
      row.push(sum / (factor * factor));
    }
    grid.push(row);
  }
  return grid;
}

/** SSIM from eq. 13: luminance, contrast and structure folded together with C1 and C2. */
function ssimFormula(mx: number, my: number, vx: number, vy: number, cov: number): number {
  const c1 = (0.01 * 255) ** 2;
  const c2 = (0.03 * 255) ** 2;
  return ((2 * mx * my + c1) * (2 * cov + c2)) / ((mx ** 2 + my ** 2 + c1) * (vx + vy + c2));
}

/**
 * Reference mean SSIM. `factor` (default 1: full resolution) reduces both images by block means
 * first; images under 11 pixels in either dimension (after that) are one uniform window.
 */
export function referenceSsim(a: GreyImage, b: GreyImage, factor = 1): number {
  if (a.width !== b.width || a.height !== b.height) throw new Error('size mismatch');
  const x = toGrid(a, factor);
  const y = toGrid(b, factor);
  const rows = x.length;
  const cols = x[0]?.length ?? 0;
  if (rows < SIZE || cols < SIZE) {
    const n = rows * cols;
    const flatX = x.flat();
    const flatY = y.flat();
    const mx = flatX.reduce((s, v) => s + v, 0) / n;
    const my = flatY.reduce((s, v) => s + v, 0) / n;
    let vx = 0;
    let vy = 0;
    let cov = 0;
    for (let i = 0; i < n; i++) {
      vx += ((flatX[i] as number) - mx) ** 2 / n;
      vy += ((flatY[i] as number) - my) ** 2 / n;
      cov += (((flatX[i] as number) - mx) * ((flatY[i] as number) - my)) / n;
    }
    return ssimFormula(mx, my, vx, vy, cov);
  }
  const w = gaussianWindow();
  let sum = 0;
  let count = 0;
  for (let r = HALF; r < rows - HALF; r++) {
    for (let c = HALF; c < cols - HALF; c++) {
      // Weighted means first, then weighted (co)variances about them (eq. 14), in two passes.
      let mx = 0;
      let my = 0;
      for (let i = 0; i < SIZE; i++) {
        for (let j = 0; j < SIZE; j++) {
          const weight = (w[i] as number[])[j] as number;
          mx += weight * ((x[r - HALF + i] as number[])[c - HALF + j] as number);
          my += weight * ((y[r - HALF + i] as number[])[c - HALF + j] as number);
        }
      }
      let vx = 0;
      let vy = 0;
      let cov = 0;
      for (let i = 0; i < SIZE; i++) {
        for (let j = 0; j < SIZE; j++) {
          const weight = (w[i] as number[])[j] as number;
          const dx = ((x[r - HALF + i] as number[])[c - HALF + j] as number) - mx;
          const dy = ((y[r - HALF + i] as number[])[c - HALF + j] as number) - my;
          vx += weight * dx * dx;
          vy += weight * dy * dy;
          cov += weight * dx * dy;
        }
      }
      sum += ssimFormula(mx, my, vx, vy, cov);
      count++;
    }
  }
  return sum / count;
}

/** Reference PSNR in dB from the mean squared error; Infinity for identical images. */
export function referencePsnr(a: GreyImage, b: GreyImage): number {
  if (a.width !== b.width || a.height !== b.height) throw new Error('size mismatch');
  let squared = 0;
  for (let i = 0; i < a.width * a.height; i++) {
    squared += (Number(a.data[i]) - Number(b.data[i])) ** 2;
  }
  const mse = squared / (a.width * a.height);
  return 10 * Math.log10((255 * 255) / mse);
}
