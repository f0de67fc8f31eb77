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

  it('sets a backend\'s own flags once its package has loaded: WebGPU\'s input-gradient program', async () => {
    process.env[TFJS_FLAGS_VARIABLE] = 'WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE:false';
    const info = await initBackend({ preferred: 'webgpu', quiet: true });
    expect(info.tfjsFlags).toEqual(['WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE=false']);
    expect(tf.env().getBool('WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE')).toBe(false);
    // The flag takes effect: the input gradient of a convolution runs TF.js's matrix-product program, with the
    // values of the direct one.
    const x = tf.randomNormal([2, 9, 7, 8], 0, 1, 'float32', 1) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, 8, 12], 0, 1, 'float32', 2) as tf.Tensor4D;
    const dy = tf.randomNormal([2, 5, 4, 12], 0, 1, 'float32', 3) as tf.Tensor4D;
    const programs: string[] = [];
    const backend = tf.backend() as unknown as { runWebGPUProgram: (p: { constructor: { name: string } }, ...a: unknown[]) => unknown };
    const run = backend.runWebGPUProgram;
    backend.runWebGPUProgram = function (this: unknown, p, ...a) {
      programs.push(p.constructor.name);
      return run.call(this, p, ...a);
    };
    try {
      const grad = (): tf.Tensor => tf.conv2dTranspose(dy, w, x.shape, [2, 2], 'same');
      const mm = grad();
      expect(programs).toEqual(['Conv2DDerInputMMProgram']);
      tf.env().set('WEBGPU_USE_NAIVE_CONV2D_TRANSPOSE', true);
      const direct = grad();
      expect(programs).toEqual(['Conv2DDerInputMMProgram', 'Conv2DDerInputProgram']);
      const [a, b] = await Promise.all([mm.data(), direct.data()]);
      let worst = 0;
      for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i] - b[i]));
      expect(worst).toBeLessThan(1e-4);
      tf.dispose([mm, direct]);
    } finally {
      backend.runWebGPUProgram = run;
      tf.dispose([x, w, dy]);
    }
  });
});
