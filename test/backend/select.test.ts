/**
 * Backend selection: explicit choice, environment override, clear errors, automatic order.
 */
import * as tf from '@tensorflow/tfjs';
import { BACKEND_ORDER, formatBackendLine, initBackend, parseBackendName, softwareAdapterNote } from '../../src/backend/select';
import { wasmTrainingKernelsRegistered } from '../../src/backend/fallback-kernels';

describe('initBackend', () => {
  const savedEnv = process.env.HRNET_BACKEND;
  afterEach(() => {
    if (savedEnv === undefined) delete process.env.HRNET_BACKEND;
    else process.env.HRNET_BACKEND = savedEnv;
  });

  it('parses names and aliases, and rejects unknown ones by name', () => {
    expect(parseBackendName('WASM')).toBe('wasm');
    expect(parseBackendName('tensorflow')).toBe('node');
    expect(parseBackendName('tfjs-node-gpu')).toBe('node-gpu');
    expect(parseBackendName('auto')).toBeUndefined();
    expect(parseBackendName(undefined)).toBeUndefined();
    expect(() => parseBackendName('tpu')).toThrow(/--backend: unknown backend 'tpu', expected one of node-gpu, webgpu, node, wasm, cpu or auto/);
  });

  it('loads the backend HRNET_BACKEND names', async () => {
    process.env.HRNET_BACKEND = 'cpu';
    const lines: string[] = [];
    const info = await initBackend({ log: (m) => lines.push(m) });
    expect(info.name).toBe('cpu');
    expect(tf.getBackend()).toBe('cpu');
    expect(lines).toEqual([`backend: cpu (tfjs ${tf.version.tfjs}, pure JS)`]);
  });

  it('rejects a bogus HRNET_BACKEND with a message naming it', async () => {
    process.env.HRNET_BACKEND = 'bogus';
    await expect(initBackend({ quiet: true })).rejects.toThrow(/HRNET_BACKEND: unknown backend 'bogus'/);
  });

  it('loads exactly the requested tfjs-node, or explains why it cannot', async () => {
    let installed = true;
    try {
      require.resolve('@tensorflow/tfjs-node');
    } catch {
      installed = false;
    }
    if (installed) {
      await expect(initBackend({ preferred: 'node', quiet: true })).resolves.toMatchObject({ name: 'node', tfBackend: 'tensorflow' });
      return;
    }
    await expect(initBackend({ preferred: 'node', quiet: true })).rejects.toThrow(
      "backend 'node' is unavailable: @tensorflow/tfjs-node is not installed: npm install @tensorflow/tfjs-node",
    );
  });

  it('picks wasm automatically when tfjs-node is absent, prints it once and is idempotent', async () => {
    delete process.env.HRNET_BACKEND;
    const lines: string[] = [];
    const info = await initBackend({ log: (m) => lines.push(m) });
    // `skipped` lists the backends passed over before the chosen one (not skipped tests): here node-gpu, webgpu, node.
    const nodeAbsent = info.skipped.length === 3;
    if (nodeAbsent) {
      expect(info.name).toBe('wasm');
      expect(info.skipped[0]).toMatch(/^node-gpu: @tensorflow\/tfjs-node-gpu is not installed/);
      // No GPU here: no Vulkan loader, or only a software adapter, which is never chosen automatically.
      expect(info.skipped[1]).toMatch(/^webgpu: (no Vulkan loader|only a software adapter|no WebGPU adapter)/);
      expect(info.skipped[2]).toMatch(/^node: @tensorflow\/tfjs-node is not installed/);
    }
    expect(BACKEND_ORDER.indexOf(info.name)).toBe(info.skipped.length);
    expect(tf.getBackend()).toBe(info.tfBackend);
    expect(lines).toEqual([formatBackendLine(info)]);
    if (info.name === 'wasm') {
      expect(lines[0]).toMatch(/^backend: wasm \(tfjs \d+\.\d+\.\d+, (no )?SIMD, \d+ threads?\)$/);
      expect(wasmTrainingKernelsRegistered()).toBe(true);
    }
    const again = await initBackend({ log: (m) => lines.push(m) });
    expect(again).toBe(info);
    expect(lines).toHaveLength(1);
  });

  it('loads webgpu when named, on a software adapter if that is all there is, and names the adapter', async () => {
    const lines: string[] = [];
    const info = await initBackend({ preferred: 'webgpu', log: (m) => lines.push(m) });
    expect(info.name).toBe('webgpu');
    expect(tf.getBackend()).toBe('webgpu');
    const a = info.adapter;
    expect(a).toBeDefined();
    expect(lines[0]).toBe(`backend: webgpu (tfjs ${tf.version.tfjs}, ${info.details})`);
    // A software adapter is said to be one, with what it is for (or the hint that names the GPU it stands for).
    const note = a?.hint !== undefined ? `note: ${a.hint}` : a?.software && a !== undefined ? `note: ${softwareAdapterNote(a)}` : undefined;
    expect(lines.slice(1)).toEqual(note === undefined ? [] : [note]);
    if (a?.software && a.hint === undefined) expect(lines[1]).toMatch(/^note: .+ is a software adapter: WebGPU computes on this machine's CPU, many times slower than the wasm backend/);
    expect(info.details).toContain(`driver ${a?.driver}`);
    expect(info.details).toMatch(a?.software ? /, software/ : /, hardware/);
    // Automatic selection never settles on a software adapter.
    delete process.env.HRNET_BACKEND;
    const auto = await initBackend({ quiet: true });
    if (a?.software) {
      expect(auto.name).not.toBe('webgpu');
      expect(auto.skipped.find((s) => s.startsWith('webgpu:'))).toMatch(/^webgpu: only a software adapter: /);
    } else {
      expect(['node-gpu', 'webgpu']).toContain(auto.name);
    }
  });
});
