/**
 * The headless Chromium that the npm package `@sparticuz/chromium` carries compressed inside itself (no
 * download, no system package), unpacked once per package version into a folder of its own under the
 * system's temporary directory. Besides the browser, that folder holds SwiftShader's Vulkan driver
 * (`libvk_swiftshader.so` and its ICD json) and a Vulkan loader (`libvulkan.so.1`): a software GPU that
 * Dawn (WebGPU in Node) and the browser both run on where no hardware GPU is at hand.
 *
 * The package unpacks into `os.tmpdir()` and reuses whatever it finds there, so it is pointed at a
 * fresh staging folder, which is renamed into place when complete: concurrent callers (test workers)
 * never see a half-written folder, and another version of the package never reuses this one's files.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { requireOptional } from './optional';

/** Where the unpacked browser and its software Vulkan driver are. */
export interface NpmChromium {
  /** The headless Chromium binary. */
  executablePath: string;
  /** The folder that holds everything below. */
  dir: string;
  /** SwiftShader's Vulkan ICD manifest (for `VK_ICD_FILENAMES`). */
  vulkanIcd: string;
  /** The Vulkan loader library, `libvulkan.so.1`. */
  vulkanLoader: string;
  /** Version of `@sparticuz/chromium`. */
  version: string;
}

const PACKAGE = '@sparticuz/chromium';

/** The parts of `@sparticuz/chromium`'s default export used here. */
interface SparticuzChromium {
  executablePath(input?: string): Promise<string>;
}

/** The installed package's version (its `exports` do not expose `package.json`, so it is found from the entry). */
function packageVersion(): string {
  let dir = path.dirname(require.resolve(PACKAGE));
  for (;;) {
    const manifest = path.join(dir, 'package.json');
    if (fs.existsSync(manifest)) {
      const parsed = JSON.parse(fs.readFileSync(manifest, 'utf8')) as { name?: string; version?: string };
      if (parsed.name === PACKAGE && typeof parsed.version === 'string') return parsed.version;
    }
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`${PACKAGE}: package.json not found`);
    dir = parent;
  }
}

function layout(dir: string, version: string): NpmChromium {
  return {
    executablePath: path.join(dir, 'chromium'),
    dir,
    vulkanIcd: path.join(dir, 'vk_swiftshader_icd.json'),
    vulkanLoader: path.join(dir, 'libvulkan.so.1'),
    version,
  };
}

const COMPLETE_MARK = '.unpacked';

function isComplete(dir: string): boolean {
  return fs.existsSync(path.join(dir, COMPLETE_MARK));
}

/** Unpacks the package's files into `staging` (the package reads `os.tmpdir()` synchronously on the call). */
async function unpackInto(staging: string): Promise<void> {
  const chromium = requireOptional(PACKAGE) as SparticuzChromium;
  const saved = process.env.TMPDIR;
  process.env.TMPDIR = staging;
  let unpacked: Promise<string>;
  try {
    unpacked = chromium.executablePath();
  } finally {
    if (saved === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = saved;
  }
  const exe = await unpacked;
  if (path.dirname(exe) !== staging) {
    throw new Error(`${PACKAGE} unpacked into ${path.dirname(exe)}, expected ${staging}`);
  }
  fs.writeFileSync(path.join(staging, COMPLETE_MARK), `${PACKAGE}\n`);
}

let pending: Promise<NpmChromium> | undefined;

/**
 * Unpacks `@sparticuz/chromium` (about 3 s the first time; later calls and later processes reuse the
 * folder `<tmpdir>/hrnet-tfjs-chromium-<version>`) and says where its files are.
 * @throws if the package is not installed (`npm install` brings it) or cannot be unpacked
 */
export function unpackNpmChromium(): Promise<NpmChromium> {
  pending ??= (async () => {
    let version: string;
    try {
      version = packageVersion();
    } catch {
      throw new Error(`${PACKAGE} is not installed: npm install ${PACKAGE}@147.0.0`);
    }
    const dir = path.join(os.tmpdir(), `hrnet-tfjs-chromium-${version}`);
    if (isComplete(dir)) return layout(dir, version);
    const staging = fs.mkdtempSync(`${dir}.partial-`);
    try {
      await unpackInto(staging);
      try {
        fs.renameSync(staging, dir);
      } catch (err) {
        // Another process finished first (the target exists); use its folder.
        if (!isComplete(dir)) throw err;
      }
    } finally {
      fs.rmSync(staging, { recursive: true, force: true });
    }
    return layout(dir, version);
  })();
  pending.catch(() => {
    pending = undefined;
  });
  return pending;
}
