/*
 * Train-mode BatchNorm over the channels of an [m, c] activation (NHWC flattened), forward and
 * backward, each in two or three passes over memory, in place on the memory of TF.js's WASM backend.
 * The formulas and their order are those of the model's TF.js ops (nn.ts, convBnTrain):
 *
 *   forward:  mean = S(y) / m, var = S((y - mean)^2) / m, a = gamma / sqrt(var + eps),
 *             out = y * a + (beta - mean * a)  (then ReLU),  xhat = (y - mean) / sqrt(var + eps)
 *   backward: g = dy (times out > 0 after a ReLU), dbeta = S(g), dgamma = S(g * xhat),
 *             dconv = ((g - dbeta / m) - xhat * (dgamma / m)) * a
 *
 * S is channelSum's blocked sum, with the float32 rounding of the TF.js ops on this backend: the
 * rows in blocks of `block` rows (block partials: the sums of runs of 48 rows, each summed in row
 * order, added in order, as the backend's batched matrix product does), then the block partials
 * summed in order (or, for block == m, all rows in order). The channel sums of a BatchNorm gradient nearly cancel, and the first layer's
 * filter gradient multiplies their error by the sum of the image, so the order is kept.
 * Requires c % 4 == 0. `scratch` holds 4c floats.
 *
 * Build: scripts/build-wasm-kernels.sh. The module imports the backend's memory and uses no stack
 * and no data segment, so it writes nothing but its outputs and `scratch`.
 */
#include <wasm_simd128.h>

static inline void zero(float *p, int c) {
  for (int k = 0; k < c; k += 4) wasm_v128_store(p + k, wasm_f32x4_splat(0.0f));
}

static inline void add_to(float *acc, const float *v, int c) {
  for (int k = 0; k < c; k += 4) wasm_v128_store(acc + k, wasm_f32x4_add(wasm_v128_load(acc + k), wasm_v128_load(v + k)));
}

/* Runs of rows the backend's batched matrix product sums before adding them to its output. */
#define RUN 48

/*
 * acc += S(rows [r0, r0 + count)), in runs of run_len rows, for one or two quantities: q(row) = y (mode 0), (y - mean)^2
 * (mode 1), or g and g * xhat (mode 2, into acc and acc2; g = dy through the ReLU when relu).
 * run, run2: c floats of scratch each.
 */
static void add_block(const float *y, const float *aux, const float *aux2, int mode, int relu,
                      float *acc, float *acc2, float *run, float *run2, int r0, int count, int run_len, int c) {
  for (int q0 = 0; q0 < count; q0 += run_len) {
    const int q1 = q0 + run_len < count ? q0 + run_len : count;
    zero(run, c);
    if (mode == 2) zero(run2, c);
    for (int r = r0 + q0; r < r0 + q1; r++) {
      const float *row = y + r * c;
      for (int k = 0; k < c; k += 4) {
        v128_t v = wasm_v128_load(row + k);
        if (mode == 1) {
          v = wasm_f32x4_sub(v, wasm_v128_load(aux + k));
          v = wasm_f32x4_mul(v, v);
        } else if (mode == 2) {
          if (relu) {
            const v128_t mask = wasm_f32x4_gt(wasm_v128_load(aux + r * c + k), wasm_f32x4_splat(0.0f));
            v = wasm_f32x4_mul(v, wasm_v128_and(mask, wasm_f32x4_splat(1.0f)));
          }
          const v128_t vx = wasm_f32x4_mul(v, wasm_v128_load(aux2 + r * c + k));
          wasm_v128_store(run2 + k, wasm_f32x4_add(wasm_v128_load(run2 + k), vx));
        }
        wasm_v128_store(run + k, wasm_f32x4_add(wasm_v128_load(run + k), v));
      }
    }
    add_to(acc, run, c);
    if (mode == 2) add_to(acc2, run2, c);
  }
}

/*
 * total (and total2) = S over all m rows in blocks of `block`; scratch: 4c floats (block partials
 * and runs). A single block (block == m) is one product with a ones vector, which on this
 * backend (XNNPACK) adds all m rows in order.
 */
static void channel_sums(const float *y, const float *aux, const float *aux2, int mode, int relu,
                         float *total, float *total2, float *scratch, int m, int c, int block) {
  float *part = scratch, *part2 = scratch + c, *run = scratch + 2 * c, *run2 = scratch + 3 * c;
  zero(total, c);
  if (mode == 2) zero(total2, c);
  if (block == m) {
    add_block(y, aux, aux2, mode, relu, total, total2, run, run2, 0, m, m, c);
    return;
  }
  /* Block partials by the batched product (runs of 48), then their sum by the single product,
     which on this backend (XNNPACK) adds all of them in order. */
  for (int r0 = 0; r0 < m; r0 += block) {
    zero(part, c);
    if (mode == 2) zero(part2, c);
    add_block(y, aux, aux2, mode, relu, part, part2, run, run2, r0, block, RUN, c);
    add_to(total, part, c);
    if (mode == 2) add_to(total2, part2, c);
  }
}

__attribute__((export_name("bn_forward")))
void bn_forward(const float *y, const float *gamma, const float *beta,
                float *out, float *xhat, float *stats, float *scratch,
                int m, int c, int block, int relu, float eps) {
  float *mean = stats, *var = stats + c, *alpha = stats + 2 * c;
  /* var holds the sums until the variance is known; scratch serves the sums, then inv_std and shift. */
  float *total = var, *inv_std = scratch, *shift = scratch + c;
  const v128_t mv = wasm_f32x4_splat((float)m);
  channel_sums(y, 0, 0, 0, 0, total, 0, scratch, m, c, block);
  for (int k = 0; k < c; k += 4) wasm_v128_store(mean + k, wasm_f32x4_div(wasm_v128_load(total + k), mv));
  channel_sums(y, mean, 0, 1, 0, total, 0, scratch, m, c, block);
  const v128_t one = wasm_f32x4_splat(1.0f), epsv = wasm_f32x4_splat(eps);
  for (int k = 0; k < c; k += 4) {
    const v128_t v = wasm_f32x4_div(wasm_v128_load(total + k), mv);
    wasm_v128_store(var + k, v);
    const v128_t is = wasm_f32x4_div(one, wasm_f32x4_sqrt(wasm_f32x4_add(v, epsv)));
    wasm_v128_store(inv_std + k, is);
    const v128_t a = wasm_f32x4_mul(wasm_v128_load(gamma + k), is);
    wasm_v128_store(alpha + k, a);
    wasm_v128_store(shift + k, wasm_f32x4_sub(wasm_v128_load(beta + k), wasm_f32x4_mul(wasm_v128_load(mean + k), a)));
  }
  const v128_t zerov = wasm_f32x4_splat(0.0f);
  for (int r = 0; r < m; r++) {
    const float *row = y + r * c;
    float *orow = out + r * c, *xrow = xhat + r * c;
    for (int k = 0; k < c; k += 4) {
      const v128_t v = wasm_v128_load(row + k);
      v128_t o = wasm_f32x4_add(wasm_f32x4_mul(v, wasm_v128_load(alpha + k)), wasm_v128_load(shift + k));
      if (relu) o = wasm_f32x4_max(o, zerov);
      wasm_v128_store(orow + k, o);
      wasm_v128_store(xrow + k, wasm_f32x4_mul(wasm_f32x4_sub(v, wasm_v128_load(mean + k)), wasm_v128_load(inv_std + k)));
    }
  }
}

/* The output gradient through the ReLU: dy where out > 0, else 0 (dy times tf.step(out)). */
static inline v128_t relu_grad(v128_t d, const float *out_row, int k, int relu) {
  if (!relu) return d;
  const v128_t mask = wasm_f32x4_gt(wasm_v128_load(out_row + k), wasm_f32x4_splat(0.0f));
  return wasm_f32x4_mul(d, wasm_v128_and(mask, wasm_f32x4_splat(1.0f)));
}

__attribute__((export_name("bn_backward")))
void bn_backward(const float *dy, const float *out, const float *xhat, const float *alpha,
                 float *dconv, float *grads, float *scratch,
                 int m, int c, int block, int relu) {
  float *dgamma = grads, *dbeta = grads + c;
  channel_sums(dy, out, xhat, 2, relu, dbeta, dgamma, scratch, m, c, block);
  float *mean_b = scratch + 2 * c, *mean_g = scratch + 3 * c;
  const v128_t mv = wasm_f32x4_splat((float)m);
  for (int k = 0; k < c; k += 4) {
    wasm_v128_store(mean_b + k, wasm_f32x4_div(wasm_v128_load(dbeta + k), mv));
    wasm_v128_store(mean_g + k, wasm_f32x4_div(wasm_v128_load(dgamma + k), mv));
  }
  for (int r = 0; r < m; r++) {
    const float *drow = dy + r * c, *orow = out + r * c, *xrow = xhat + r * c;
    float *crow = dconv + r * c;
    for (int k = 0; k < c; k += 4) {
      const v128_t g = relu_grad(wasm_v128_load(drow + k), orow, k, relu);
      const v128_t inner = wasm_f32x4_sub(wasm_f32x4_sub(g, wasm_v128_load(mean_b + k)),
                                          wasm_f32x4_mul(wasm_v128_load(xrow + k), wasm_v128_load(mean_g + k)));
      wasm_v128_store(crow + k, wasm_f32x4_mul(inner, wasm_v128_load(alpha + k)));
    }
  }
}

/*
 * Eval-mode BatchNorm (TF.js's FusedBatchNorm) of an [m, c] activation with per-channel mean,
 * variance, offset and scale, by the stock kernel's formula and rounding:
 * out = offset + (x - mean) * scale / sqrt(var + eps). `scratch` holds c floats.
 */
__attribute__((export_name("bn_eval")))
void bn_eval(const float *x, const float *mean, const float *var, const float *offset,
             const float *scale, float *out, float *scratch, int m, int c, float eps) {
  float *norm = scratch;
  const v128_t epsv = wasm_f32x4_splat(eps);
  for (int k = 0; k < c; k += 4) wasm_v128_store(norm + k, wasm_f32x4_sqrt(wasm_f32x4_add(wasm_v128_load(var + k), epsv)));
  for (int r = 0; r < m; r++) {
    const float *row = x + r * c;
    float *orow = out + r * c;
    for (int k = 0; k < c; k += 4) {
      const v128_t t = wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(row + k), wasm_v128_load(mean + k)), wasm_v128_load(scale + k));
      wasm_v128_store(orow + k, wasm_f32x4_add(wasm_v128_load(offset + k), wasm_f32x4_div(t, wasm_v128_load(norm + k))));
    }
  }
}
