/*
 * Quality kernels (functions/core/quality/ssim.ts and luma.ts), compiled to WebAssembly with SIMD:
 * `npm run build:wasm` turns this file into quality-wasm.ts. No libc: the host (JS) owns the
 * memory layout and passes every buffer as a pointer into this module's linear memory.
 *
 * Arithmetic contract, relied on by the tests:
 * - luma: Y = round-half-up(0.299 R + 0.587 G + 0.114 B), the sum evaluated in float64 left to
 *   right; the integer SIMD path is exact except at ties, which are redone in float64.
 * - bilinear resize: integers only, 8-bit weights (the tap fraction rounded to 1/256ths) and the
 *   result rounded half up from 1/65536ths, exactly as the per-pixel definition in wasm.test.ts.
 * - every float64 expression has one fixed operation order (no reassociation, no fused
 *   multiply-add: wasm has none), so identical inputs give SSIM exactly 1 and ssim(a, b) equals
 *   ssim(b, a) bit for bit.
 */
#include <wasm_simd128.h>

typedef unsigned char u8;
typedef unsigned int u32;
typedef int i32;
typedef unsigned long long u64;

#define EXPORT(name) __attribute__((export_name(#name)))
#define WINDOW 11
#define RADIUS 5

/*
 * The normalised 11-tap Gaussian followed by SSIM's C1 and C2, written by the host at start-up
 * (it owns exp() and pow(), so both sides use the very same constants).
 */
static double constants[WINDOW + 2];
#define taps constants
#define C1 constants[WINDOW]
#define C2 constants[WINDOW + 1]

EXPORT(constants) double *constants_pointer(void) { return constants; }

/* ---------------------------------------------------------------------------------------------- */
/* Luma */

static inline u8 luma_scalar(const u8 *p) {
  const double v = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
  return (u8)(i32)(v + 0.5);
}

/*
 * 3 or 4 channels, 16 pixels per step. Each pair of pixels is spread into i16 lanes
 * (R, G, B, 0, R', G', B', 0), and one i32x4.dot with (299, 587, 114, 0) gives 299 R + 587 G and
 * 114 B of both; pairwise sums make T = 299 R + 587 G + 114 B + 500 for 4 pixels, and
 * Y = floor(T / 1000) = ((T >> 3) * 33555) >> 22 (exact for T < 2^18). When T is a multiple of 1000
 * the float64 formula sits on a tie whose rounding depends on its representation error, so such a
 * step is redone with the float64 formula.
 */
static void luma_rgb(const u8 *src, u32 n, u32 ch, u8 *dst) {
  const v128_t coefficients = wasm_i16x8_make(299, 587, 114, 0, 299, 587, 114, 0);
  const v128_t half = wasm_i32x4_splat(500);
  const v128_t magic = wasm_i32x4_splat(33555);
  const v128_t thousand = wasm_i32x4_splat(1000);
  const v128_t zero = wasm_i32x4_splat(0);
  /* Byte indices of pixels 0, 1 (lo) and 2, 3 (hi) of a group, -1 for a zero byte. */
  const v128_t lo3 = wasm_i8x16_make(0, -1, 1, -1, 2, -1, -1, -1, 3, -1, 4, -1, 5, -1, -1, -1);
  const v128_t hi3 = wasm_i8x16_make(6, -1, 7, -1, 8, -1, -1, -1, 9, -1, 10, -1, 11, -1, -1, -1);
  const v128_t lo4 = wasm_i8x16_make(0, -1, 1, -1, 2, -1, -1, -1, 4, -1, 5, -1, 6, -1, -1, -1);
  const v128_t hi4 = wasm_i8x16_make(8, -1, 9, -1, 10, -1, -1, -1, 12, -1, 13, -1, 14, -1, -1, -1);
  const v128_t lo_index = ch == 3 ? lo3 : lo4;
  const v128_t hi_index = ch == 3 ? hi3 : hi4;
  const u32 bytes = n * ch;
  u32 i = 0;
  /* A 3-channel group loads 16 bytes of which it uses 12: stay 4 bytes clear of the end. */
  for (; i + 16 <= n && (i + 16) * ch + (ch == 3 ? 4 : 0) <= bytes; i += 16) {
    v128_t q[4];
    v128_t ties = zero;
    for (u32 k = 0; k < 4; k++) {
      const v128_t v = wasm_v128_load(src + (i + 4 * k) * ch);
      const v128_t a = wasm_i32x4_dot_i16x8(wasm_i8x16_swizzle(v, lo_index), coefficients);
      const v128_t b = wasm_i32x4_dot_i16x8(wasm_i8x16_swizzle(v, hi_index), coefficients);
      const v128_t t = wasm_i32x4_add(wasm_i32x4_add(wasm_i32x4_shuffle(a, b, 0, 2, 4, 6),
                                                     wasm_i32x4_shuffle(a, b, 1, 3, 5, 7)),
                                      half);
      const v128_t y = wasm_u32x4_shr(wasm_i32x4_mul(wasm_u32x4_shr(t, 3), magic), 22);
      ties = wasm_v128_or(ties, wasm_i32x4_eq(wasm_i32x4_sub(t, wasm_i32x4_mul(y, thousand)), zero));
      q[k] = y;
    }
    const v128_t lo = wasm_u16x8_narrow_i32x4(q[0], q[1]);
    const v128_t hi = wasm_u16x8_narrow_i32x4(q[2], q[3]);
    wasm_v128_store(dst + i, wasm_u8x16_narrow_i16x8(lo, hi));
    if (wasm_v128_any_true(ties)) {
      for (u32 k = 0; k < 16; k++) dst[i + k] = luma_scalar(src + (i + k) * ch);
    }
  }
  for (; i < n; i++) dst[i] = luma_scalar(src + i * ch);
}

/* Grey + alpha: the grey bytes. */
static void luma_grey_alpha(const u8 *src, u32 n, u8 *dst) {
  u32 i = 0;
  for (; i + 16 <= n; i += 16) {
    const v128_t a = wasm_v128_load(src + 2 * i);
    const v128_t b = wasm_v128_load(src + 2 * i + 16);
    wasm_v128_store(dst + i, wasm_i8x16_shuffle(a, b, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22,
                                                24, 26, 28, 30));
  }
  for (; i < n; i++) dst[i] = src[2 * i];
}

static void luma_any(const u8 *src, u32 n, u32 ch, u8 *dst) {
  if (ch == 1) {
    __builtin_memcpy(dst, src, n);
  } else if (ch == 2) {
    luma_grey_alpha(src, n, dst);
  } else {
    luma_rgb(src, n, ch, dst);
  }
}

/** Luma of `n` interleaved pixels of `ch` (1..4) channels into `dst`. */
EXPORT(luma) void luma(const u8 *src, u32 n, u32 ch, u8 *dst) { luma_any(src, n, ch, dst); }

/* ---------------------------------------------------------------------------------------------- */
/* Full-resolution pass: squared errors and block means */

/* Sum of squared differences of two byte rows; exact. */
static u64 sse_row(const u8 *a, const u8 *b, u32 w) {
  u64 total = 0;
  u32 i = 0;
  while (i + 16 <= w) {
    /* Each lane gains at most 4 * 255^2 per step: 4096 pixels per i32 accumulator is safe. */
    v128_t acc = wasm_i32x4_splat(0);
    const u32 end = (w - i) / 16 > 256 ? i + 4096 : i + (w - i) / 16 * 16;
    for (; i < end; i += 16) {
      const v128_t x = wasm_v128_load(a + i);
      const v128_t y = wasm_v128_load(b + i);
      const v128_t dl = wasm_i16x8_sub(wasm_u16x8_extend_low_u8x16(x), wasm_u16x8_extend_low_u8x16(y));
      const v128_t dh =
          wasm_i16x8_sub(wasm_u16x8_extend_high_u8x16(x), wasm_u16x8_extend_high_u8x16(y));
      acc = wasm_i32x4_add(acc, wasm_i32x4_dot_i16x8(dl, dl));
      acc = wasm_i32x4_add(acc, wasm_i32x4_dot_i16x8(dh, dh));
    }
    total += (u64)(u32)wasm_i32x4_extract_lane(acc, 0) + (u32)wasm_i32x4_extract_lane(acc, 1) +
             (u32)wasm_i32x4_extract_lane(acc, 2) + (u32)wasm_i32x4_extract_lane(acc, 3);
  }
  for (; i < w; i++) {
    const i32 d = (i32)a[i] - (i32)b[i];
    total += (u32)(d * d);
  }
  return total;
}

/** Sum of squared differences of two n-byte planes (exact below 2^53). */
EXPORT(sse) double sse(const u8 *a, const u8 *b, u32 n) { return (double)sse_row(a, b, n); }

/* The largest factor whose column sums (f rows of bytes) fit in u16. */
#define U16_FACTOR 257

/*
 * Adds full-resolution row `r` to the block sums of analysis row floor(r / f): column sums of the
 * block's rows accumulate in `cols` (aw * f of them; u16 up to U16_FACTOR, u32 above), and the
 * block's last row turns each run of f columns into a mean in `dst`. Sums are exact integers, so
 * the means are the same float64 values as a sum of row sums divided by f * f.
 */
static void block_row(const u8 *src, u32 r, u32 f, u32 aw, void *cols, double *means) {
  double *dst = means + (r / f) * aw;
  if (f == 1) {
    for (u32 i = 0; i < aw; i++) dst[i] = src[i];
    return;
  }
  const u32 dy = r % f;
  const u32 cw = aw * f;
  const double area = (double)f * f;
  if (f > U16_FACTOR) {
    u32 *wide = (u32 *)cols;
    for (u32 i = 0; i < cw; i++) wide[i] = (dy == 0 ? 0 : wide[i]) + src[i];
    if (dy != f - 1) return;
    for (u32 ox = 0, p = 0; ox < aw; ox++) {
      u32 sum = 0;
      for (u32 k = 0; k < f; k++, p++) sum += wide[p];
      dst[ox] = (double)sum / area;
    }
    return;
  }
  unsigned short *narrow = (unsigned short *)cols;
  u32 i = 0;
  if (dy == 0) {
    for (; i + 16 <= cw; i += 16) {
      const v128_t v = wasm_v128_load(src + i);
      wasm_v128_store(narrow + i, wasm_u16x8_extend_low_u8x16(v));
      wasm_v128_store(narrow + i + 8, wasm_u16x8_extend_high_u8x16(v));
    }
    for (; i < cw; i++) narrow[i] = src[i];
  } else {
    for (; i + 16 <= cw; i += 16) {
      const v128_t v = wasm_v128_load(src + i);
      wasm_v128_store(narrow + i,
                      wasm_i16x8_add(wasm_v128_load(narrow + i), wasm_u16x8_extend_low_u8x16(v)));
      wasm_v128_store(narrow + i + 8, wasm_i16x8_add(wasm_v128_load(narrow + i + 8),
                                                     wasm_u16x8_extend_high_u8x16(v)));
    }
    for (; i < cw; i++) narrow[i] += src[i];
  }
  if (dy != f - 1) return;
  for (u32 ox = 0, p = 0; ox < aw; ox++) {
    u32 sum = 0;
    for (u32 k = 0; k < f; k++, p++) sum += narrow[p];
    dst[ox] = (double)sum / area;
  }
}

/**
 * Block means of a `w x h` luma plane into `means` (aw x ah, aw = floor(w / f), ah = floor(h / f));
 * `cols` holds aw * f u32.
 */
EXPORT(block_means)
void block_means(const u8 *plane, u32 w, u32 f, u32 aw, u32 ah, void *cols, double *means) {
  for (u32 r = 0; r < ah * f; r++) block_row(plane + r * w, r, f, aw, cols, means);
}

/**
 * The output side's full-resolution pass, one row at a time: luma of the decoded pixels (`ch`
 * channels, 1 = already luma), squared errors against the reference luma `ref`, and block means
 * into `means`. `row` holds w bytes, `cols` aw * f u32. Returns the sum of squared errors.
 */
EXPORT(measure_rows)
double measure_rows(const u8 *ref, const u8 *pixels, u32 w, u32 h, u32 ch, u32 f, u32 aw, u32 ah,
                    u8 *row, void *cols, double *means) {
  u64 sse = 0;
  const u32 cropped = ah * f;
  for (u32 r = 0; r < h; r++) {
    const u8 *luma_row = pixels + r * w;
    if (ch != 1) {
      luma_any(pixels + r * w * ch, w, ch, row);
      luma_row = row;
    }
    sse += sse_row(ref + r * w, luma_row, w);
    if (r < cropped) block_row(luma_row, r, f, aw, cols, means);
  }
  return (double)sse;
}

/* ---------------------------------------------------------------------------------------------- */
/* Bilinear resize (pixel-centre aligned, as OpenCV INTER_LINEAR and libvips linear), 8-bit weights */

typedef unsigned short u16;

/*
 * Source taps of one axis: dst d reads (d + 0.5) * src / dst - 0.5, clamped to [0, src - 1], with
 * the fraction as a weight in 1/256ths (rounded to nearest), as libyuv, which WebRTC receivers
 * scale with, and GPU texture filtering do. Fixed point keeps the whole resize in integers: exact,
 * and four to eight pixels per SIMD step instead of two float64.
 */
static void axis_taps(u32 src, u32 dst, u32 *lo, u32 *hi, u16 *weight) {
  const double scale = (double)src / dst;
  const double last = src - 1;
  for (u32 d = 0; d < dst; d++) {
    double s = (d + 0.5) * scale - 0.5;
    if (!(s > 0)) s = 0;
    if (s > last) s = last;
    const u32 i = (u32)s; /* s >= 0: truncation is floor */
    lo[d] = i;
    hi[d] = i + 1 < src ? i + 1 : src - 1;
    weight[d] = (u16)(u32)((s - i) * 256 + 0.5);
  }
}

/* One source row across: 256 * a + w * (b - a), in 1/256ths (at most 65280: fits 16 bits). */
static void interpolate_row(const u8 *src, const u32 *lo, const u32 *hi, const u16 *weight, u32 w,
                            u16 *out) {
  for (u32 x = 0; x < w; x++) {
    const u32 a = src[lo[x]];
    const u32 b = src[hi[x]];
    out[x] = (u16)(a * (256 - weight[x]) + b * weight[x]);
  }
}

/* (256 - wy) * upper + wy * lower, rounded half up from 1/65536ths, of four u32 lanes. */
static inline v128_t blend4(v128_t upper, v128_t lower, v128_t wu, v128_t wl) {
  const v128_t sum = wasm_i32x4_add(wasm_i32x4_mul(upper, wu), wasm_i32x4_mul(lower, wl));
  return wasm_u32x4_shr(wasm_i32x4_add(sum, wasm_i32x4_splat(32768)), 16);
}

/* One output row between two interpolated rows, 16 pixels per step. */
static void blend_rows(const u16 *upper, const u16 *lower, u32 wy, u32 w, u8 *out) {
  const v128_t wu = wasm_i32x4_splat((i32)(256 - wy));
  const v128_t wl = wasm_i32x4_splat((i32)wy);
  u32 x = 0;
  for (; x + 16 <= w; x += 16) {
    v128_t q[4];
    for (u32 k = 0; k < 2; k++) {
      const v128_t a = wasm_v128_load(upper + x + 8 * k);
      const v128_t b = wasm_v128_load(lower + x + 8 * k);
      q[2 * k] = blend4(wasm_u32x4_extend_low_u16x8(a), wasm_u32x4_extend_low_u16x8(b), wu, wl);
      q[2 * k + 1] =
          blend4(wasm_u32x4_extend_high_u16x8(a), wasm_u32x4_extend_high_u16x8(b), wu, wl);
    }
    const v128_t lo = wasm_u16x8_narrow_i32x4(q[0], q[1]);
    const v128_t hi = wasm_u16x8_narrow_i32x4(q[2], q[3]);
    wasm_v128_store(out + x, wasm_u8x16_narrow_i16x8(lo, hi));
  }
  for (; x < w; x++) {
    out[x] = (u8)((upper[x] * (256 - wy) + lower[x] * wy + 32768) >> 16);
  }
}

/**
 * Bilinear resize of `src` (sw x sh) to `dst` (w x h): each output pixel is
 * ((256 - wy) * ((256 - wx) * a + wx * b) + wy * ((256 - wx) * c + wx * d) + 32768) >> 16 for its
 * four source pixels and its 8-bit weights. `scratch` holds 2 * (w + h) u32, then 2 * w + w + h
 * u16 (see the host's sizing), 4-byte aligned.
 */
EXPORT(resize_bilinear)
void resize_bilinear(const u8 *src, u32 sw, u32 sh, u8 *dst, u32 w, u32 h, void *scratch) {
  u32 *col_lo = (u32 *)scratch;
  u32 *col_hi = col_lo + w;
  u32 *row_lo = col_hi + w;
  u32 *row_hi = row_lo + h;
  u16 *upper = (u16 *)(row_hi + h);
  u16 *lower = upper + w;
  u16 *col_w = lower + w;
  u16 *row_w = col_w + w;
  axis_taps(sw, w, col_lo, col_hi, col_w);
  axis_taps(sh, h, row_lo, row_hi, row_w);
  i32 upper_row = -1;
  i32 lower_row = -1;
  for (u32 y = 0; y < h; y++) {
    const i32 lo = (i32)row_lo[y];
    const i32 hi = (i32)row_hi[y];
    if (lo == lower_row) {
      u16 *swap = upper;
      upper = lower;
      lower = swap;
      upper_row = lo;
      lower_row = -1;
    }
    if (lo != upper_row) {
      interpolate_row(src + lo * sw, col_lo, col_hi, col_w, w, upper);
      upper_row = lo;
    }
    if (hi != lower_row) {
      interpolate_row(src + hi * sw, col_lo, col_hi, col_w, w, lower);
      lower_row = hi;
    }
    blend_rows(upper, lower, row_w[y], w, dst + y * w);
  }
}

/* ---------------------------------------------------------------------------------------------- */
/* Gaussian filters and the SSIM map (float64, two lanes) */

/* Horizontal 11-tap pass: `count` outputs from src[0 ..]; mirrored pairs are added first. */
static void filter_row(const double *src, u32 count, double *out) {
  const double g0 = taps[0], g1 = taps[1], g2 = taps[2], g3 = taps[3], g4 = taps[4], g5 = taps[5];
  const v128_t v0 = wasm_f64x2_splat(g0), v1 = wasm_f64x2_splat(g1), v2 = wasm_f64x2_splat(g2);
  const v128_t v3 = wasm_f64x2_splat(g3), v4 = wasm_f64x2_splat(g4), v5 = wasm_f64x2_splat(g5);
  u32 j = 0;
  for (; j + 2 <= count; j += 2) {
    const double *p = src + j;
#define L(k) wasm_v128_load(p + (k))
    v128_t s = wasm_f64x2_mul(v0, wasm_f64x2_add(L(0), L(10)));
    s = wasm_f64x2_add(s, wasm_f64x2_mul(v1, wasm_f64x2_add(L(1), L(9))));
    s = wasm_f64x2_add(s, wasm_f64x2_mul(v2, wasm_f64x2_add(L(2), L(8))));
    s = wasm_f64x2_add(s, wasm_f64x2_mul(v3, wasm_f64x2_add(L(3), L(7))));
    s = wasm_f64x2_add(s, wasm_f64x2_mul(v4, wasm_f64x2_add(L(4), L(6))));
    s = wasm_f64x2_add(s, wasm_f64x2_mul(v5, L(5)));
#undef L
    wasm_v128_store(out + j, s);
  }
  for (; j < count; j++) {
    const double *p = src + j;
    out[j] = g0 * (p[0] + p[10]) + g1 * (p[1] + p[9]) + g2 * (p[2] + p[8]) + g3 * (p[3] + p[7]) +
             g4 * (p[4] + p[6]) + g5 * p[5];
  }
}

/* Vertical 11-tap pass at columns j, j + 1 over the ring rows s[0..10] (oldest first). */
static inline v128_t vertical2(double *const *s, u32 j) {
#define R(k) wasm_v128_load(s[k] + j)
  v128_t v = wasm_f64x2_mul(wasm_f64x2_splat(taps[0]), wasm_f64x2_add(R(0), R(10)));
  v = wasm_f64x2_add(v, wasm_f64x2_mul(wasm_f64x2_splat(taps[1]), wasm_f64x2_add(R(1), R(9))));
  v = wasm_f64x2_add(v, wasm_f64x2_mul(wasm_f64x2_splat(taps[2]), wasm_f64x2_add(R(2), R(8))));
  v = wasm_f64x2_add(v, wasm_f64x2_mul(wasm_f64x2_splat(taps[3]), wasm_f64x2_add(R(3), R(7))));
  v = wasm_f64x2_add(v, wasm_f64x2_mul(wasm_f64x2_splat(taps[4]), wasm_f64x2_add(R(4), R(6))));
  v = wasm_f64x2_add(v, wasm_f64x2_mul(wasm_f64x2_splat(taps[5]), R(5)));
#undef R
  return v;
}

static inline double vertical1(double *const *s, u32 j) {
  return taps[0] * (s[0][j] + s[10][j]) + taps[1] * (s[1][j] + s[9][j]) +
         taps[2] * (s[2][j] + s[8][j]) + taps[3] * (s[3][j] + s[7][j]) +
         taps[4] * (s[4][j] + s[6][j]) + taps[5] * s[5][j];
}

/* The 11 ring rows of statistic `stat` holding analysis rows top .. top + 10, oldest first. */
static void ring_rows(double *ring, u32 stat, u32 top, u32 ow, double **s) {
  for (u32 k = 0; k < WINDOW; k++) s[k] = ring + (stat * WINDOW + (top + k) % WINDOW) * ow;
}

/* Vertical pass over the 11 ring rows s[0..10] into `out` (count values). */
static void vertical_row(double *const *s, u32 count, double *out) {
  u32 j = 0;
  for (; j + 2 <= count; j += 2) wasm_v128_store(out + j, vertical2(s, j));
  for (; j < count; j++) out[j] = vertical1(s, j);
}

/**
 * The reference side: Gaussian-filtered x and x^2 of the aw x ah plane `x` (aw, ah >= 11) into
 * meanX and meanXX, (aw - 10) x (ah - 10) each. `ring` holds 2 * 11 * (aw - 10) float64,
 * `squares` aw.
 */
EXPORT(filter_reference)
void filter_reference(const double *x, u32 aw, u32 ah, double *mean_x, double *mean_xx,
                      double *ring, double *squares) {
  const u32 ow = aw - 2 * RADIUS;
  double *sx[WINDOW];
  double *sxx[WINDOW];
  for (u32 r = 0; r < ah; r++) {
    const double *row = x + r * aw;
    for (u32 i = 0; i < aw; i++) squares[i] = row[i] * row[i];
    const u32 slot = r % WINDOW;
    filter_row(row, ow, ring + slot * ow);
    filter_row(squares, ow, ring + (WINDOW + slot) * ow);
    if (r < WINDOW - 1) continue;
    const u32 top = r - (WINDOW - 1);
    ring_rows(ring, 0, top, ow, sx);
    ring_rows(ring, 1, top, ow, sxx);
    vertical_row(sx, ow, mean_x + top * ow);
    vertical_row(sxx, ow, mean_xx + top * ow);
  }
}

/**
 * Mean SSIM over the valid region of the output's block means `y` against the reference (`x` and
 * its filtered meanX, meanXX), aw, ah >= 11. `ring` holds 3 * 11 * (aw - 10) float64 and then
 * 3 * (aw - 10) more for one row of the vertical passes, `squares` and `products` aw each.
 */
EXPORT(ssim_map)
double ssim_map(const double *x, const double *y, const double *mean_x, const double *mean_xx,
                u32 aw, u32 ah, double *ring, double *squares, double *products) {
  const u32 ow = aw - 2 * RADIUS;
  double *sy[WINDOW];
  double *syy[WINDOW];
  double *sxy[WINDOW];
  const v128_t c1 = wasm_f64x2_splat(C1);
  const v128_t c2 = wasm_f64x2_splat(C2);
  const v128_t two = wasm_f64x2_splat(2);
  double total = 0;
  for (u32 r = 0; r < ah; r++) {
    const double *yr = y + r * aw;
    const double *xr = x + r * aw;
    for (u32 i = 0; i < aw; i++) {
      squares[i] = yr[i] * yr[i];
      products[i] = xr[i] * yr[i];
    }
    const u32 slot = r % WINDOW;
    filter_row(yr, ow, ring + slot * ow);
    filter_row(squares, ow, ring + (WINDOW + slot) * ow);
    filter_row(products, ow, ring + (2 * WINDOW + slot) * ow);
    if (r < WINDOW - 1) continue;
    const u32 top = r - (WINDOW - 1);
    ring_rows(ring, 0, top, ow, sy);
    ring_rows(ring, 1, top, ow, syy);
    ring_rows(ring, 2, top, ow, sxy);
    const double *mxr = mean_x + top * ow;
    const double *mxxr = mean_xx + top * ow;
    double *my_row = ring + 3 * WINDOW * ow;
    double *eyy_row = my_row + ow;
    double *exy_row = eyy_row + ow;
    vertical_row(sy, ow, my_row);
    vertical_row(syy, ow, eyy_row);
    vertical_row(sxy, ow, exy_row);
    v128_t acc = wasm_f64x2_splat(0);
    u32 j = 0;
    for (; j + 2 <= ow; j += 2) {
      const v128_t my = wasm_v128_load(my_row + j);
      const v128_t eyy = wasm_v128_load(eyy_row + j);
      const v128_t exy = wasm_v128_load(exy_row + j);
      const v128_t mx = wasm_v128_load(mxr + j);
      const v128_t mxy = wasm_f64x2_mul(mx, my);
      const v128_t msq = wasm_f64x2_add(wasm_f64x2_mul(mx, mx), wasm_f64x2_mul(my, my));
      const v128_t num =
          wasm_f64x2_mul(wasm_f64x2_add(wasm_f64x2_mul(two, mxy), c1),
                         wasm_f64x2_add(wasm_f64x2_mul(two, wasm_f64x2_sub(exy, mxy)), c2));
      const v128_t den = wasm_f64x2_mul(
          wasm_f64x2_add(msq, c1),
          wasm_f64x2_add(wasm_f64x2_sub(wasm_f64x2_add(wasm_v128_load(mxxr + j), eyy), msq), c2));
      acc = wasm_f64x2_add(acc, wasm_f64x2_div(num, den));
    }
    double row_total = wasm_f64x2_extract_lane(acc, 0) + wasm_f64x2_extract_lane(acc, 1);
    for (; j < ow; j++) {
      const double my = my_row[j];
      const double eyy = eyy_row[j];
      const double exy = exy_row[j];
      const double mx = mxr[j];
      const double mxy = mx * my;
      const double msq = mx * mx + my * my;
      /* Written so that identical inputs give numerator == denominator bit for bit. */
      row_total += ((2 * mxy + C1) * (2 * (exy - mxy) + C2)) / ((msq + C1) * (mxxr[j] + eyy - msq + C2));
    }
    total += row_total;
  }
  return total / ((double)ow * (ah - 2 * RADIUS));
}

/** SSIM of planes smaller than the window: one uniformly weighted window over all n values. */
EXPORT(whole_ssim)
double whole_ssim(const double *x, const double *y, u32 n) {
  double sx = 0, sy = 0;
  for (u32 i = 0; i < n; i++) {
    sx += x[i];
    sy += y[i];
  }
  const double mx = sx / n;
  const double my = sy / n;
  double vx = 0, vy = 0, cxy = 0;
  for (u32 i = 0; i < n; i++) {
    const double dx = x[i] - mx;
    const double dy = y[i] - my;
    vx += dx * dx;
    vy += dy * dy;
    cxy += dx * dy;
  }
  vx /= n;
  vy /= n;
  cxy /= n;
  const double mxy = mx * my;
  return ((2 * mxy + C1) * (2 * cxy + C2)) / ((mx * mx + my * my + C1) * (vx + vy + C2));
}
