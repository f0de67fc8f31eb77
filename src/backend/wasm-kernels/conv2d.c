/*
 * A 2-D convolution, NHWC input [N, H, W, Cin] and filter [kh, kw, Cin, Cout], any stride and
 * explicit zero padding, computed in place on the memory of TF.js's WASM backend:
 *
 *   out[n, y, x, o] = sum over i, j, c of  in[n, y*sh + i - top, x*sw + j - left, c] * w[i, j, c, o]
 *
 * Two ways, chosen by the size of the filter (see conv2d below), both in register tiles of 4
 * pixels by 8 output channels with the input channels innermost: (a) the pixels whose filter
 * columns all lie inside the image summed over every tap and stored once, the others (borders,
 * the last ones of a row) one at a time; (b) for each output row and filter tap, the pixels whose
 * input lies inside the image, each tap adding to the output row in memory. Requires Cout % 8 == 0.
 *
 * Build: scripts/build-wasm-kernels.sh (clang --target=wasm32, -msimd128). The module imports the
 * backend's memory and uses no stack and no data segment, so it writes nothing but its outputs.
 */
#include <wasm_simd128.h>

static inline int max_i(int a, int b) { return a > b ? a : b; }
static inline int min_i(int a, int b) { return a < b ? a : b; }
/* floor(a / b) for b > 0 */
static inline int floor_div(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

/* A register tile: 4 pixels by 8 channels, two vectors a pixel. */
typedef struct {
  v128_t v[8];
} tile4x8;

static inline tile4x8 tile_zero(void) {
  tile4x8 t;
  for (int q = 0; q < 8; q++) t.v[q] = wasm_f32x4_splat(0.0f);
  return t;
}

/* The tile at p: pixel q at p + q * stride. */
static inline tile4x8 tile_load(const float *p, int stride) {
  tile4x8 t;
  for (int q = 0; q < 4; q++) {
    t.v[2 * q] = wasm_v128_load(p + q * stride);
    t.v[2 * q + 1] = wasm_v128_load(p + q * stride + 4);
  }
  return t;
}

static inline void tile_store(float *p, int stride, tile4x8 t) {
  for (int q = 0; q < 4; q++) {
    wasm_v128_store(p + q * stride, t.v[2 * q]);
    wasm_v128_store(p + q * stride + 4, t.v[2 * q + 1]);
  }
}

/*
 * t[q] += sum over k < count of in[q * in_stride + k] * w[k * w_stride .. + 8]: the input values
 * of 4 pixels (channels k consecutive) times 8 consecutive weights per channel.
 */
static inline tile4x8 tile_madd(tile4x8 t, const float *in, int in_stride, const float *w, int w_stride, int count) {
  for (int k = 0; k < count; k++, in++, w += w_stride) {
    const v128_t w0 = wasm_v128_load(w), w1 = wasm_v128_load(w + 4);
    for (int q = 0; q < 4; q++) {
      const v128_t s = wasm_v128_load32_splat(in + q * in_stride);
      t.v[2 * q] = wasm_f32x4_add(t.v[2 * q], wasm_f32x4_mul(s, w0));
      t.v[2 * q + 1] = wasm_f32x4_add(t.v[2 * q + 1], wasm_f32x4_mul(s, w1));
    }
  }
  return t;
}

/* One pixel: out[0..8] += sum over k < count of in[k] * w[k * w_stride .. + 8]. */
static inline void pixel_madd(float *out, const float *in, const float *w, int w_stride, int count) {
  v128_t a0 = wasm_v128_load(out), a1 = wasm_v128_load(out + 4);
  for (int k = 0; k < count; k++, in++, w += w_stride) {
    const v128_t s = wasm_v128_load32_splat(in);
    a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(s, wasm_v128_load(w)));
    a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(s, wasm_v128_load(w + 4)));
  }
  wasm_v128_store(out, a0);
  wasm_v128_store(out + 4, a1);
}

/* One output pixel, 8 output channels from o0: every tap whose input lies inside the image. */
static inline void conv_pixel(const float *in, const float *w, float *op, int b, int y, int x, int o0,
                              int h, int wd, int ci, int co, int kh, int kw, int sh, int sw, int top, int left) {
  wasm_v128_store(op, wasm_f32x4_splat(0.0f));
  wasm_v128_store(op + 4, wasm_f32x4_splat(0.0f));
  for (int i = 0; i < kh; i++) {
    const int r = y * sh + i - top;
    if (r < 0 || r >= h) continue;
    for (int j = 0; j < kw; j++) {
      const int col = x * sw + j - left;
      if (col < 0 || col >= wd) continue;
      pixel_madd(op, in + ((b * h + r) * wd + col) * ci, w + (i * kw + j) * ci * co + o0, co, ci);
    }
  }
}

/* Sums over every tap in registers (the weights of all taps for 8 channels stay in cache). */
static void conv2d_in_registers(const float *in, const float *w, float *out,
            int n, int h, int wd, int ci,
            int oh, int ow, int co,
            int kh, int kw, int sh, int sw, int top, int left) {
  const int xstep = sw * ci;
  /* Output columns [xa, xb) read every filter column inside the image. */
  const int xa = min_i(ow, max_i(0, floor_div(left + sw - 1, sw)));
  const int xb = max_i(xa, min_i(ow, floor_div(wd - kw + left, sw) + 1));

  for (int b = 0; b < n; b++) {
    for (int y = 0; y < oh; y++) {
      float *orow = out + (b * oh + y) * ow * co;
      /* Filter rows [i0, i1) read rows inside the image. */
      const int i0 = max_i(0, top - y * sh);
      const int i1 = min_i(kh, h + top - y * sh);
      for (int o0 = 0; o0 < co; o0 += 8) {
        int x = 0;
        for (; x < xa; x++) conv_pixel(in, w, orow + x * co + o0, b, y, x, o0, h, wd, ci, co, kh, kw, sh, sw, top, left);
        /* Tiles of 4 pixels by 8 channels, the sum over every tap and channel in registers. */
        for (; x + 4 <= xb; x += 4) {
          tile4x8 t = tile_zero();
          for (int i = i0; i < i1; i++) {
            const float *irow = in + ((b * h + y * sh + i - top) * wd + x * sw - left) * ci;
            for (int j = 0; j < kw; j++) t = tile_madd(t, irow + j * ci, xstep, w + (i * kw + j) * ci * co + o0, co, ci);
          }
          tile_store(orow + x * co + o0, co, t);
        }
        for (; x < ow; x++) conv_pixel(in, w, orow + x * co + o0, b, y, x, o0, h, wd, ci, co, kh, kw, sh, sw, top, left);
      }
    }
  }
}

/* Tap by tap: each tap adds to the output in memory (weights of one tap stay in cache). */
static void conv2d_by_tap(const float *in, const float *w, float *out,
            int n, int h, int wd, int ci,
            int oh, int ow, int co,
            int kh, int kw, int sh, int sw, int top, int left) {
  const int out_size = n * oh * ow * co;
  for (int k = 0; k < out_size; k += 4) wasm_v128_store(out + k, wasm_f32x4_splat(0.0f));
  const int xstep = sw * ci;

  for (int b = 0; b < n; b++) {
    for (int y = 0; y < oh; y++) {
      float *orow = out + (b * oh + y) * ow * co;
      for (int i = 0; i < kh; i++) {
        const int r = y * sh + i - top;
        if (r < 0 || r >= h) continue;
        const float *irow = in + (b * h + r) * wd * ci;
        for (int j = 0; j < kw; j++) {
          /* Output columns x whose input column x*sw + j - left lies inside [0, wd). */
          const int x0 = min_i(ow, max_i(0, floor_div(left - j + sw - 1, sw)));
          const int x1 = max_i(x0, min_i(ow, floor_div(wd - 1 + left - j, sw) + 1));
          if (x1 <= x0) continue;
          const float *tap = w + (i * kw + j) * ci * co;
          for (int o0 = 0; o0 < co; o0 += 8) {
            int x = x0;
            for (; x + 4 <= x1; x += 4) {
              float *op = orow + x * co + o0;
              tile_store(op, co, tile_madd(tile_load(op, co), irow + (x * sw + j - left) * ci, xstep, tap + o0, co, ci));
            }
            for (; x < x1; x++) pixel_madd(orow + x * co + o0, irow + (x * sw + j - left) * ci, tap + o0, co, ci);
          }
        }
      }
    }
  }
}

__attribute__((export_name("conv2d")))
void conv2d(const float *in, const float *w, float *out,
            int n, int h, int wd, int ci,
            int oh, int ow, int co,
            int kh, int kw, int sh, int sw, int top, int left) {
  /* Summing every tap in registers re-reads kh*kw*ci*8 weights per tile of 4 pixels: faster while
     they fit in the L1 cache (measured on W32's layers: 3x3 with 32 channels and every 1x1),
     slower for 3x3 layers of 128 or 256 channels, where going tap by tap is faster. */
  if (kh * kw * ci <= 512)
    conv2d_in_registers(in, w, out, n, h, wd, ci, oh, ow, co, kh, kw, sh, sw, top, left);
  else
    conv2d_by_tap(in, w, out, n, h, wd, ci, oh, ow, co, kh, kw, sh, sw, top, left);
}

/*
 * The input gradient of a strided convolution (the transposed convolution), without the zero
 * taps a convolution of the dilated output gradient would multiply:
 *
 *   dx[n, y, x, c] = sum over i, j, o with y + top - i = sh*r and x + left - j = sw*q of
 *                    dy[n, r, q, o] * w[i, j, c, o]
 *
 * `wf` is flip_transpose's [kh, kw, Cout, Cin] (tap (i, j) at kh*kw - 1 - (i*kw + j)). For each
 * input row and each column phase x = pb + sw*t, the taps that reach it add to dx tap by tap, in
 * register tiles of 4 columns by 8 input channels. Requires Cin % 8 == 0.
 */
__attribute__((export_name("conv2d_input_grad")))
void conv2d_input_grad(const float *dy, const float *wf, float *dx,
                       int n, int h, int wd, int ci,
                       int oh, int ow, int co,
                       int kh, int kw, int sh, int sw, int top, int left) {
  const int dx_size = n * h * wd * ci;
  for (int k = 0; k < dx_size; k += 4) wasm_v128_store(dx + k, wasm_f32x4_splat(0.0f));
  const int taps = kh * kw;
  const int xstep = sw * ci; /* dx columns of one phase are sw apart */
  for (int b = 0; b < n; b++) {
    for (int y = 0; y < h; y++) {
      float *dxrow = dx + (b * h + y) * wd * ci;
      for (int i = 0; i < kh; i++) {
        const int rr = y + top - i;
        if (rr < 0 || rr % sh != 0 || rr / sh >= oh) continue;
        const float *dyrow = dy + (b * oh + rr / sh) * ow * co;
        for (int pb = 0; pb < sw; pb++) {
          const int nt = (wd - pb + sw - 1) / sw; /* columns pb, pb + sw, ... below wd */
          for (int j = 0; j < kw; j++) {
            const int cc = pb + left - j;
            if (((cc % sw) + sw) % sw != 0) continue;
            const int dj = floor_div(cc, sw); /* column t reads dy column t + dj */
            const int t0 = max_i(0, -dj), t1 = min_i(nt, ow - dj);
            if (t1 <= t0) continue;
            const float *tap = wf + (taps - 1 - (i * kw + j)) * co * ci;
            for (int c0 = 0; c0 < ci; c0 += 8) {
              int t = t0;
              for (; t + 4 <= t1; t += 4) {
                float *op = dxrow + (pb + sw * t) * ci + c0;
                tile_store(op, xstep, tile_madd(tile_load(op, xstep), dyrow + (t + dj) * co, co, tap + c0, ci, co));
              }
              for (; t < t1; t++) pixel_madd(dxrow + (pb + sw * t) * ci + c0, dyrow + (t + dj) * co, tap + c0, ci, co);
            }
          }
        }
      }
    }
  }
}

/*
 * The filter of the input gradient of a stride-1 convolution: w [kh, kw, Cin, Cout] flipped in
 * both spatial axes and transposed to out [kh, kw, Cout, Cin], so that
 * dx = conv2d(dy, out) with padding (kh - 1 - top, kw - 1 - left).
 */
__attribute__((export_name("flip_transpose")))
void flip_transpose(const float *w, float *out, int kh, int kw, int ci, int co) {
  const int taps = kh * kw;
  for (int t = 0; t < taps; t++) {
    const float *src = w + (taps - 1 - t) * ci * co;
    float *dst = out + t * ci * co;
    /* Blocks of 8 x 8 so that reads and writes both stay within a few cache lines. */
    for (int c0 = 0; c0 < ci; c0 += 8) {
      for (int o0 = 0; o0 < co; o0 += 8) {
        const int c1 = min_i(ci, c0 + 8), o1 = min_i(co, o0 + 8);
        for (int c = c0; c < c1; c++)
          for (int o = o0; o < o1; o++) dst[o * ci + c] = src[c * co + o];
      }
    }
  }
}
