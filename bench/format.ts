/**
 * How the benchmark pages write numbers: one place, so every page reads alike. A value that could
 * not be measured (NaN) is written `n/a`.
 */

const missing = (value: number) => Number.isNaN(value);

/** Milliseconds, `digits` decimals (microseconds by default): `0.128 ms`. */
export function ms(value: number, digits = 3): string {
  return missing(value) ? 'n/a' : `${value.toFixed(digits)} ms`;
}

/** A ratio: `2.41x`. */
export function times(value: number, digits = 2): string {
  return missing(value) ? 'n/a' : `${value.toFixed(digits)}x`;
}

/** A share (0..1) as a percentage: `98.9 %`. */
export function pct(value: number, digits = 1): string {
  return missing(value) ? 'n/a' : `${(100 * value).toFixed(digits)} %`;
}

/** A plain number with `digits` decimals. */
export function fixed(value: number, digits: number): string {
  return missing(value) ? 'n/a' : value.toFixed(digits);
}

/** A count with thousands separators: `1,000,000`. */
export function count(value: number): string {
  return value.toLocaleString('en');
}

/** A byte count in decimal units: `500 B`, `17.5 kB`, `2.1 MB`. */
export function formatBytes(bytes: number): string {
  if (missing(bytes)) return 'n/a';
  if (bytes < 1000) return `${Math.round(bytes)} B`;
  if (bytes < 1e6) return `${Number((bytes / 1000).toPrecision(3))} kB`;
  return `${Number((bytes / 1e6).toPrecision(3))} MB`;
}

/** A byte count in binary megabytes: `0.68 MB` (1 MB = 2^20 bytes, as the bundle goals count). */
export function mebibytes(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(2)} MB`;
}
