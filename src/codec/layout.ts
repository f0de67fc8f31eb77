/** Memory layouts of heatmap batches: TF.js models output NHWC, the official code and the fixtures hold NCHW. */

/**
 * Reorders NHWC data (TF.js model outputs) to NCHW.
 * @param data `[N, H, W, K]`
 * @returns `[N, K, H, W]`
 */
export function nhwcToNchw(data: ArrayLike<number>, n: number, h: number, w: number, k: number): Float32Array {
  if (data.length !== n * h * w * k) {
    throw new Error(`nhwcToNchw: data has ${data.length} values, expected N·H·W·K = ${n * h * w * k}`);
  }
  const out = new Float32Array(data.length);
  const plane = h * w;
  for (let b = 0; b < n; b++) {
    const src = b * plane * k;
    const dst = b * k * plane;
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < k; c++) out[dst + c * plane + p] = data[src + p * k + c];
    }
  }
  return out;
}
