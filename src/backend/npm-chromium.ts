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
  /**
   * A fontconfig file (for `FONTCONFIG_FILE`) naming the package's fonts (Open Sans) and the system's
   * `/usr/share/fonts`, so pages render text where the system has no fonts. The package's own
   * `fonts.conf` names the folders of its serverless hosts (`/tmp/fonts`, `/var/task/fonts`).
   */
  fontConfig: string;
  /** Version of `@sparticuz/chromium`. */
  version: string;
}

const PACKAGE = '@sparticuz/chromium';

/** The parts of `@sparticuz/chromium`'s default export used here. */
interface SparticuzChromium {
  executablePath(input?: string): Promise<string>;
  /** The package's command-line flags: headless shell, no sandbox, WebGL on SwiftShader (ANGLE over Vulkan). */
  readonly args: string[];
}

function sparticuz(): SparticuzChromium {
  return requireOptional(PACKAGE) as SparticuzChromium;
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

const FONT_CONFIG_FILE = 'hrnet-fonts.conf';

function layout(dir: string, version: string): NpmChromium {
  return {
    executablePath: path.join(dir, 'chromium'),
    dir,
    vulkanIcd: path.join(dir, 'vk_swiftshader_icd.json'),
    vulkanLoader: path.join(dir, 'libvulkan.so.1'),
    fontConfig: path.join(dir, FONT_CONFIG_FILE),
    version,
  };
}

/** XML-escapes a path for the fontconfig file. */
function xmlText(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Writes `<dir>/hrnet-fonts.conf` unless it is there as it should be: the package's fonts, the system's, and
 * a font cache inside `dir`. A folder unpacked before the file existed lacks it, and one unpacked by an
 * earlier version has it naming the staging folder it was unpacked in (its fonts unused, its cache left in a
 * stray folder): both get it (re)written. Written to a temporary name, then renamed.
 * @returns whether the file was written
 */
export function ensureFontConfig(dir: string): boolean {
  const file = path.join(dir, FONT_CONFIG_FILE);
  const xml =
    '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n' +
    `  <dir>${xmlText(path.join(dir, 'fonts'))}</dir>\n` +
    '  <dir>/usr/share/fonts</dir>\n' +
    `  <cachedir>${xmlText(path.join(dir, 'fonts-cache'))}</cachedir>\n` +
    '</fontconfig>\n';
  try {
    if (fs.readFileSync(file, 'utf8') === xml) return false;
  } catch {
    // Not there yet.
  }
  const tmp = `${file}.tmp-${process.pid}`;
  fs.writeFileSync(tmp, xml);
  fs.renameSync(tmp, file);
  return true;
}

const COMPLETE_MARK = '.unpacked';

function isComplete(dir: string): boolean {
  return fs.existsSync(path.join(dir, COMPLETE_MARK));
}

/** Unpacks the package's files into `staging` (the package reads `os.tmpdir()` synchronously on the call). */
async function unpackInto(staging: string): Promise<void> {
  const chromium = sparticuz();
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
  // The font config names its folder: it is written once the files are where they stay (unpackNpmChromium).
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
    if (isComplete(dir)) {
      ensureFontConfig(dir);
      return layout(dir, version);
    }
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
    ensureFontConfig(dir);
    return layout(dir, version);
  })();
  pending.catch(() => {
    pending = undefined;
  });
  return pending;
}

/** Options of {@link headlessChromiumLaunch}. */
export interface HeadlessChromiumOptions {
  /** The profile folder (`--user-data-dir`): a fresh one per browser; the caller creates and removes it. */
  userDataDir: string;
  /** Offer WebGPU (`navigator.gpu`) on SwiftShader's Vulkan besides WebGL (default true). */
  webgpu?: boolean;
}

/** How to start the npm package's headless Chromium: the binary, its flags, and what to add to the environment. */
export interface HeadlessChromiumLaunch {
  /** The headless Chromium binary ({@link NpmChromium.executablePath}). */
  executablePath: string;
  /** Command-line flags, without the page URL. */
  args: string[];
  /** Variables to add to the environment of the browser process. */
  env: Record<string, string>;
  /** The unpacked package. */
  chromium: NpmChromium;
}

/** Flags that keep a browser off the network and quiet: no background requests, updates, sync or QUIC. */
const OFFLINE_FLAGS = [
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-quic',
  '--no-first-run',
  '--disable-dev-shm-usage',
];

/** Flags that give pages WebGPU on SwiftShader's Vulkan (the features go into the one `--enable-features`). */
const WEBGPU_FLAGS = ['--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader'];
const WEBGPU_FEATURES = ['Vulkan', 'WebGPU'];

/**
 * The command line of the npm package's headless Chromium, as root, with no network and no GPU: the package's
 * own flags (headless shell, no sandbox, WebGL through ANGLE on SwiftShader) without `--single-process` (a
 * browser that opens several pages), WebGPU on SwiftShader's Vulkan when asked, no background networking, and a
 * fresh profile. Pages get WebGL2 and `navigator.gpu` on a secure origin (`http://127.0.0.1`).
 * @throws if `@sparticuz/chromium` is not installed or cannot be unpacked
 */
export async function headlessChromiumLaunch(opts: HeadlessChromiumOptions): Promise<HeadlessChromiumLaunch> {
  const chromium = await unpackNpmChromium();
  const webgpu = opts.webgpu ?? true;
  const features: string[] = [];
  const args: string[] = [];
  for (const flag of sparticuz().args) {
    if (flag === '--single-process' || flag.startsWith('--headless')) continue;
    if (flag.startsWith('--enable-features=')) features.push(...flag.slice('--enable-features='.length).split(','));
    else args.push(flag);
  }
  if (webgpu) features.push(...WEBGPU_FEATURES.filter((f) => !features.includes(f)));
  args.push('--headless', ...(webgpu ? WEBGPU_FLAGS : []), ...OFFLINE_FLAGS, `--user-data-dir=${opts.userDataDir}`);
  if (features.length > 0) args.push(`--enable-features=${features.join(',')}`);
  return { executablePath: chromium.executablePath, args, env: { FONTCONFIG_FILE: chromium.fontConfig }, chromium };
}
