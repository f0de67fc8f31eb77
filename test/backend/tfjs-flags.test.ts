/**
 * `HRNET_TFJS_FLAGS`: TF.js flags from the environment, in the syntax of TF.js's `?tfjsflags=` URL parameter.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select';
import { TFJS_FLAGS_VARIABLE, applyTfjsFlags, parseTfjsFlags, registeredTfjsFlags, tfjsFlagsFromEnv } from '../../src/backend/tfjs-flags';

describe('HRNET_TFJS_FLAGS', () => {
  const saved = { flags: process.env[TFJS_FLAGS_VARIABLE], backend: process.env.HRNET_BACKEND };
  const flagsBefore = { ...tf.env().getFlags() };
  afterEach(() => {
    for (const [key, value] of [[TFJS_FLAGS_VARIABLE, saved.flags], ['HRNET_BACKEND', saved.backend]] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
    tf.env().setFlags(flagsBefore);
  });

  it('reads true/false, numbers and strings, as TF.js reads its URL flags (and 1e-3 as a number)', () => {
    expect(parseTfjsFlags('A:true, B:FALSE,C:30 ,D:1e-3,E:conv2d,F:-2')).toEqual([
      { name: 'A', value: true },
      { name: 'B', value: false },
      { name: 'C', value: 30 },
      { name: 'D', value: 0.001 },
      { name: 'E', value: 'conv2d' },
      { name: 'F', value: -2 },
    ]);
    expect(parseTfjsFlags('')).toEqual([]);
    expect(parseTfjsFlags(' , ')).toEqual([]);
    expect(tfjsFlagsFromEnv({})).toEqual([]);
    expect(tfjsFlagsFromEnv({ [TFJS_FLAGS_VARIABLE]: 'PROD:true' })).toEqual([{ name: 'PROD', value: true }]);
  });

  it('says which item is not FLAG:value, and which flag is given twice', () => {
    expect(() => parseTfjsFlags('PROD')).toThrow(
      "HRNET_TFJS_FLAGS: 'PROD' is not FLAG:value (e.g. HRNET_TFJS_FLAGS=WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE:false)",
    );
    expect(() => parseTfjsFlags('PROD:')).toThrow(/'PROD:' is not FLAG:value/);
    expect(() => parseTfjsFlags(':true')).toThrow(/':true' is not FLAG:value/);
    expect(() => parseTfjsFlags('PROD:true,PROD:false')).toThrow('HRNET_TFJS_FLAGS: PROD is given twice');
  });

  it('sets the registered flags, leaves the others to the caller, and checks the type of each value', () => {
    expect(registeredTfjsFlags()).toEqual(expect.arrayContaining(['CHECK_COMPUTATION_FOR_ERRORS', 'WEBGL_CPU_FORWARD', 'WASM_HAS_SIMD_SUPPORT']));
    const { applied, unregistered } = applyTfjsFlags([
      { name: 'CHECK_COMPUTATION_FOR_ERRORS', value: true },
      { name: 'NO_SUCH_FLAG', value: 1 },
    ]);
    expect(applied).toEqual(['CHECK_COMPUTATION_FOR_ERRORS=true']);
    expect(unregistered).toEqual([{ name: 'NO_SUCH_FLAG', value: 1 }]);
    expect(tf.env().getBool('CHECK_COMPUTATION_FOR_ERRORS')).toBe(true);
    expect(() => applyTfjsFlags([{ name: 'WEBGL_CPU_FORWARD', value: 3 }])).toThrow(
      "HRNET_TFJS_FLAGS: WEBGL_CPU_FORWARD takes a boolean (now true); got '3'",
    );
    // Nothing is set when one value is wrong.
    expect(() =>
      applyTfjsFlags([
        { name: 'CHECK_COMPUTATION_FOR_ERRORS', value: false },
        { name: 'WEBGL_CPU_FORWARD', value: 'yes' },
      ]),
    ).toThrow(/WEBGL_CPU_FORWARD takes a boolean/);
    expect(tf.env().getBool('CHECK_COMPUTATION_FOR_ERRORS')).toBe(true);
  });

  it('initBackend sets them, says so under the backend line, and names an unknown flag with the known ones', async () => {
    process.env.HRNET_BACKEND = 'cpu';
    process.env[TFJS_FLAGS_VARIABLE] = 'CHECK_COMPUTATION_FOR_ERRORS:true';
    const lines: string[] = [];
    await tf.setBackend('wasm'); // another request than the last, so that initBackend runs again
    const info = await initBackend({ log: (m) => lines.push(m) });
    expect(info.tfjsFlags).toEqual(['CHECK_COMPUTATION_FOR_ERRORS=true']);
    expect(lines).toEqual([`backend: cpu (tfjs ${tf.version.tfjs}, pure JS)`, 'tfjs flags (HRNET_TFJS_FLAGS): CHECK_COMPUTATION_FOR_ERRORS=true']);
    expect(tf.env().getBool('CHECK_COMPUTATION_FOR_ERRORS')).toBe(true);

    process.env[TFJS_FLAGS_VARIABLE] = 'WEBGL_CPU_FORWARDS:false';
    await tf.setBackend('wasm');
    await expect(initBackend({ quiet: true })).rejects.toThrow(
      /^HRNET_TFJS_FLAGS: TF\.js has no flag WEBGL_CPU_FORWARDS with the cpu backend loaded; its flags starting with WEBGL_: (WEBGL_\w+, )*WEBGL_CPU_FORWARD, /,
    );
  });

  it('sets a backend\'s own flags once its package has loaded: WebGPU\'s matrix-product input gradient, on HRNet\'s geometries', async () => {
    process.env[TFJS_FLAGS_VARIABLE] = 'WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE:false';
    const info = await initBackend({ preferred: 'webgpu', quiet: true });
    expect(info.tfjsFlags).toEqual(['WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE=false']);
    expect(tf.env().getBool('WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE')).toBe(false);
    // The flag takes effect: the input gradient of a convolution runs TF.js's matrix-product program, with the
    // values of the direct one, on HRNet's geometries (3×3 with stride 1 or 2 and 1×1, explicit padding as
    // PyTorch pads, even and odd sizes).
    const programs: string[] = [];
    const backend = tf.backend() as unknown as { runWebGPUProgram: (p: { constructor: { name: string } }, ...a: unknown[]) => unknown };
    const run = backend.runWebGPUProgram;
    backend.runWebGPUProgram = function (this: unknown, p, ...a) {
      programs.push(p.constructor.name);
      return run.call(this, p, ...a);
    };
    try {
      const geometries = [
        { k: 3, stride: 1, pad: 1, h: 16, w: 12 },
        { k: 3, stride: 2, pad: 1, h: 16, w: 12 },
        { k: 3, stride: 2, pad: 1, h: 9, w: 7 },
        { k: 1, stride: 1, pad: 0, h: 9, w: 7 },
      ];
      for (const [i, g] of geometries.entries()) {
        const [oh, ow] = [g.h, g.w].map((n) => Math.floor((n + 2 * g.pad - g.k) / g.stride) + 1);
        const inputShape: [number, number, number, number] = [2, g.h, g.w, 8];
        const filter = tf.randomNormal([g.k, g.k, 8, 12], 0, 1, 'float32', 10 + i);
        const dy = tf.randomNormal([2, oh, ow, 12], 0, 1, 'float32', 20 + i);
        const attrs = { strides: g.stride, pad: [[0, 0], [g.pad, g.pad], [g.pad, g.pad], [0, 0]], dataFormat: 'NHWC', inputShape };
        const grad = (naive: boolean): tf.Tensor => {
          tf.env().set('WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE', naive);
          return tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
        };
        programs.length = 0;
        const mm = grad(false);
        const direct = grad(true);
        expect(programs).toEqual(['Conv2DDerInputMMProgram', 'Conv2DDerInputProgram']);
        const [a, b] = await Promise.all([mm.data(), direct.data()]);
        let worst = 0;
        let scale = 0;
        for (let j = 0; j < a.length; j++) {
          worst = Math.max(worst, Math.abs(a[j] - b[j]));
          scale = Math.max(scale, Math.abs(b[j]));
        }
        expect({ geometry: g, shape: mm.shape, close: worst <= 1e-5 * scale }).toEqual({ geometry: g, shape: inputShape, close: true });
        tf.dispose([mm, direct, filter, dy]);
      }
    } finally {
      backend.runWebGPUProgram = run;
    }
  });
});
