/*
 * Filter gradient of a 2-D convolution (NHWC input, [kh, kw, Cin, Cout] filter), computed in place
 * on the memory of TF.js's WASM backend, with no im2col copy and no transposes:
 *
 *   dw[i, j, c, o] = sum over n, y, x of  in[n, y*sh + i - top, x*sw + j - left, c] * dy[n, y, x, o]
 *
 * Each tap (i, j) is a sum of outer products of input rows (Cin values at one pixel) and output
 * gradient rows (Cout values). The sum runs in register tiles of 4 input channels by 8 output
 * channels over a chunk of output rows (about `chunk_floats` input and output-gradient values,
 * meant to stay in cache), then the next tile reads the same pixels again. The sums run over the
 * pixels in order, as a matrix product over im2col columns does. Requires Cin % 4 == 0 and
 * Cout % 8 == 0.
 *
 * Build: scripts/build-wasm-kernels.sh (clang --target=wasm32, -msimd128). The module imports the
 * backend's memory and uses no stack and no data segment, so it writes nothing but `dw`.
 */
#include <wasm_simd128.h>


static inline int max_i(int a, int b) { return a > b ? a : b; }
static inline int min_i(int a, int b) { return a < b ? a : b; }
/* floor(a / b) for b > 0 */
static inline int floor_div(int a, int b) { return a >= 0 ? a / b : -((-a + b - 1) / b); }

__attribute__((export_name("filter_grad")))
void filter_grad(const float *in, const float *dy, float *dw,
                 int n, int h, int w, int ci,
                 int oh, int ow, int co,
                 int kh, int kw, int sh, int sw, int top, int left,
                 int chunk_floats) {
  const int dw_size = kh * kw * ci * co;
  for (int k = 0; k < dw_size; k += 4) wasm_v128_store(dw + k, wasm_f32x4_splat(0.0f));

  const int rows_per_chunk = max_i(1, chunk_floats / (ow * (sw * ci + co)));
  for (int b = 0; b < n; b++) {
    for (int y0 = 0; y0 < oh; y0 += rows_per_chunk) {
      const int y1 = min_i(oh, y0 + rows_per_chunk);
      for (int i = 0; i < kh; i++) {
        for (int j = 0; j < kw; j++) {
          /* Output columns x whose input column x*sw + j - left lies inside [0, w). */
          const int x0 = min_i(ow, max_i(0, floor_div(left - j + sw - 1, sw)));
          const int x1 = max_i(x0, min_i(ow, floor_div(w - 1 + left - j, sw) + 1));
          if (x1 <= x0) continue;
          float *tap = dw + (i * kw + j) * ci * co;
          for (int c0 = 0; c0 < ci; c0 += 4) {
            for (int o0 = 0; o0 < co; o0 += 8) {
              float *acc_ptr = tap + c0 * co + o0;
              v128_t a00 = wasm_v128_load(acc_ptr), a01 = wasm_v128_load(acc_ptr + 4);
              v128_t a10 = wasm_v128_load(acc_ptr + co), a11 = wasm_v128_load(acc_ptr + co + 4);
              v128_t a20 = wasm_v128_load(acc_ptr + 2 * co), a21 = wasm_v128_load(acc_ptr + 2 * co + 4);
              v128_t a30 = wasm_v128_load(acc_ptr + 3 * co), a31 = wasm_v128_load(acc_ptr + 3 * co + 4);
              for (int y = y0; y < y1; y++) {
                const int r = y * sh + i - top;
                if (r < 0 || r >= h) continue;
                const float *xp = in + ((b * h + r) * w + x0 * sw + j - left) * ci + c0;
                const float *dp = dy + ((b * oh + y) * ow + x0) * co + o0;
                const int xstep = sw * ci;
                for (int x = x0; x < x1; x++, xp += xstep, dp += co) {
                  const v128_t xv = wasm_v128_load(xp);
                  const v128_t d0 = wasm_v128_load(dp), d1 = wasm_v128_load(dp + 4);
                  const v128_t s0 = wasm_i32x4_shuffle(xv, xv, 0, 0, 0, 0);
                  const v128_t s1 = wasm_i32x4_shuffle(xv, xv, 1, 1, 1, 1);
                  const v128_t s2 = wasm_i32x4_shuffle(xv, xv, 2, 2, 2, 2);
                  const v128_t s3 = wasm_i32x4_shuffle(xv, xv, 3, 3, 3, 3);
                  a00 = wasm_f32x4_add(a00, wasm_f32x4_mul(s0, d0));
                  a01 = wasm_f32x4_add(a01, wasm_f32x4_mul(s0, d1));
                  a10 = wasm_f32x4_add(a10, wasm_f32x4_mul(s1, d0));
                  a11 = wasm_f32x4_add(a11, wasm_f32x4_mul(s1, d1));
                  a20 = wasm_f32x4_add(a20, wasm_f32x4_mul(s2, d0));
                  a21 = wasm_f32x4_add(a21, wasm_f32x4_mul(s2, d1));
                  a30 = wasm_f32x4_add(a30, wasm_f32x4_mul(s3, d0));
                  a31 = wasm_f32x4_add(a31, wasm_f32x4_mul(s3, d1));
                }
              }
              wasm_v128_store(acc_ptr, a00); wasm_v128_store(acc_ptr + 4, a01);
              wasm_v128_store(acc_ptr + co, a10); wasm_v128_store(acc_ptr + co + 4, a11);
              wasm_v128_store(acc_ptr + 2 * co, a20); wasm_v128_store(acc_ptr + 2 * co + 4, a21);
              wasm_v128_store(acc_ptr + 3 * co, a30); wasm_v128_store(acc_ptr + 3 * co + 4, a31);
            }
          }
        }
      }
    }
  }
}
