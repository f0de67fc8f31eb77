/**
 * How a process reaches Vulkan: the plan (SwiftShader where asked for, the system's loader where one loads, else
 * the npm package's loader with the drivers the environment names or that are installed, else nothing), the
 * folders searched for drivers' manifests, what to do where an NVIDIA GPU has no Vulkan driver, and, in fresh processes, a driver installed without a loader (as the
 * NVIDIA container runtime mounts one) found and run through the npm package's loader.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { unpackNpmChromium } from '../../src/backend/npm-chromium';
import { driverManifestDirs, driverManifests, nvidiaVulkanHint, planVulkan, type VulkanPlan } from '../../src/backend/vulkan-driver';
import { spawnTs } from '../helpers/spawn-ts';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'vulkan-driver-test-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A folder `name` under the test's folder with `files` in it. */
function folder(name: string, files: Record<string, string>): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir, { recursive: true });
  for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), text);
  return dir;
}

it('plans SwiftShader where asked, the system loader where one loads, else the npm loader with named or installed drivers', () => {
  const drivers = folder('plan/icd.d', { 'nvidia_icd.json': '{}', 'intel_icd.x86_64.json': '{}', 'README': '' });
  const none = path.join(tmp, 'plan/missing');
  const loader = () => true;
  const noLoader = () => false;
  expect(planVulkan({ env: { HRNET_VULKAN: 'SwiftShader' }, systemLoader: loader, manifestDirs: [drivers] })).toEqual({ kind: 'npm-swiftshader' });
  expect(planVulkan({ env: { VK_DRIVER_FILES: '/x.json' }, systemLoader: loader, manifestDirs: [drivers] })).toEqual({ kind: 'system' });
  expect(planVulkan({ env: { VK_DRIVER_FILES: '/a.json:/b.json', VK_ICD_FILENAMES: '/c.json' }, systemLoader: noLoader, manifestDirs: [drivers] })).toEqual({
    kind: 'npm-loader',
    drivers: ['/a.json', '/b.json'],
    named: true,
  });
  expect(planVulkan({ env: { VK_ICD_FILENAMES: '/c.json' }, systemLoader: noLoader, manifestDirs: [drivers] })).toEqual({ kind: 'npm-loader', drivers: ['/c.json'], named: true });
  expect(planVulkan({ env: {}, systemLoader: noLoader, manifestDirs: [none, drivers] })).toEqual({
    kind: 'npm-loader',
    drivers: [path.join(drivers, 'intel_icd.x86_64.json'), path.join(drivers, 'nvidia_icd.json')],
    named: false,
  });
  expect(planVulkan({ env: {}, systemLoader: noLoader, manifestDirs: [none] })).toEqual({ kind: 'none' });
  expect(driverManifests([none])).toEqual([]);
});

it("searches the loader's folders for drivers, and the NVIDIA container runtime's", () => {
  expect(driverManifestDirs({ HOME: '/home/u' })).toEqual([
    '/home/u/.config/vulkan/icd.d',
    '/etc/xdg/vulkan/icd.d',
    '/etc/vulkan/icd.d',
    '/home/u/.local/share/vulkan/icd.d',
    '/usr/local/share/vulkan/icd.d',
    '/usr/share/vulkan/icd.d',
    '/usr/local/nvidia/share/vulkan/icd.d',
  ]);
  expect(driverManifestDirs({ HOME: '/home/u', XDG_DATA_DIRS: '/opt/a:/usr/share', XDG_CONFIG_HOME: '/cfg', XDG_DATA_HOME: '/data' })).toEqual([
    '/cfg/vulkan/icd.d',
    '/etc/xdg/vulkan/icd.d',
    '/etc/vulkan/icd.d',
    '/data/vulkan/icd.d',
    '/opt/a/vulkan/icd.d',
    '/usr/share/vulkan/icd.d',
    '/usr/local/nvidia/share/vulkan/icd.d',
  ]);
});

it('says what to do where the NVIDIA kernel driver runs without its Vulkan driver, and nothing elsewhere', () => {
  const proc = path.join(folder('proc', { version: 'NVRM version: NVIDIA UNIX x86_64 Kernel Module  570.124.06\n' }), 'version');
  const empty = folder('hint/none', {});
  const nvidia = folder('hint/nvidia', { 'nvidia_icd.json': '{}' });
  const hint = nvidiaVulkanHint({}, [empty], proc);
  expect(hint).toMatch(/^an NVIDIA GPU driver runs here \(.*proc\/version\) but its Vulkan driver is not installed: in a container, give it the graphics capability \(NVIDIA_DRIVER_CAPABILITIES=all/);
  expect(hint).toMatch(/Ubuntu: libnvidia-gl-<driver version>; Debian: nvidia-vulkan-icd/);
  // Installed, or named: nothing to say; no NVIDIA kernel driver: nothing either.
  expect(nvidiaVulkanHint({}, [empty, nvidia], proc)).toBeUndefined();
  expect(nvidiaVulkanHint({ VK_DRIVER_FILES: '/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json' }, [empty], proc)).toBeUndefined();
  expect(nvidiaVulkanHint({}, [empty], path.join(tmp, 'proc/missing'))).toBeUndefined();
});

/** What test/helpers/backend-line.ts prints. */
interface Chosen {
  plan: VulkanPlan;
  name?: string;
  adapter?: { source: string; device: string };
  skipped?: string[];
  driverFiles?: string | null;
  error?: string;
}

/** What a fresh process with `env` chose for `backend` (`webgpu` or `auto`). */
async function chosenIn(env: NodeJS.ProcessEnv, backend: string): Promise<Chosen> {
  const child = spawnTs('test/helpers/backend-line.ts', [backend], env);
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  const line = out.trim().split('\n').pop() ?? '';
  if (code !== 0 || !line.startsWith('{')) throw new Error(`backend-line.ts exited with ${code}: ${err}`);
  return JSON.parse(line) as Chosen;
}

it('runs a driver installed without a Vulkan loader through the npm package loader, in a fresh process', async () => {
  // The driver: SwiftShader's library from the npm package, installed as a system driver would be (a manifest in
  // a folder the loader searches), standing in for a GPU's driver that an image got without libvulkan1.
  const chromium = await unpackNpmChromium();
  const manifest = JSON.parse(fs.readFileSync(chromium.vulkanIcd, 'utf8')) as { ICD: { library_path: string } };
  manifest.ICD.library_path = path.join(chromium.dir, 'libvk_swiftshader.so');
  const share = path.join(tmp, 'share');
  folder('share/vulkan/icd.d', { 'swiftshader_icd.json': JSON.stringify(manifest) });
  const base: NodeJS.ProcessEnv = { ...process.env, HOME: tmp, XDG_CONFIG_DIRS: path.join(tmp, 'no-config'), XDG_CONFIG_HOME: '', XDG_DATA_HOME: '' };
  for (const k of ['VK_ICD_FILENAMES', 'VK_DRIVER_FILES', 'HRNET_VULKAN', 'HRNET_BACKEND']) delete base[k];
  const installed = { ...base, XDG_DATA_DIRS: share };
  const bare = { ...base, XDG_DATA_DIRS: path.join(tmp, 'no-data') };
  // Named: the installed driver, through the npm package's loader, which VK_DRIVER_FILES points at it.
  const named = await chosenIn(installed, 'webgpu');
  if (named.plan.kind === 'system') {
    // A machine with a system loader: the npm package's loader is not used, whatever is installed.
    expect(named.adapter?.source).toBe('system');
    return;
  }
  const driver = path.join(share, 'vulkan/icd.d/swiftshader_icd.json');
  expect(named.plan).toEqual({ kind: 'npm-loader', drivers: [driver], named: false });
  expect(named).toMatchObject({ name: 'webgpu', adapter: { source: 'npm-loader', device: expect.stringMatching(/SwiftShader/) }, driverFiles: driver });
  // Automatic: a software driver is not chosen, and the reason names how it was reached.
  const auto = await chosenIn(installed, 'auto');
  expect(auto.name).not.toBe('webgpu');
  expect(auto.skipped).toContainEqual(expect.stringMatching(/^webgpu: only a software adapter: .*SwiftShader.*\(Vulkan loader from @sparticuz\/chromium\)$/));
  // Nothing installed: automatic says so; named falls back on the npm package's SwiftShader.
  const bareAuto = await chosenIn(bare, 'auto');
  expect(bareAuto.plan).toEqual({ kind: 'none' });
  expect(bareAuto.skipped).toContainEqual(expect.stringMatching(/^webgpu: no Vulkan loader \(libvulkan\.so\.1\) and no Vulkan driver on this system/));
  expect(await chosenIn(bare, 'webgpu')).toMatchObject({ name: 'webgpu', adapter: { source: 'npm-swiftshader' }, driverFiles: null });
}, 240000);
