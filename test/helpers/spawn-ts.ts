/**
 * Starts a TypeScript file of the project as a separate Node process. Its sources are compiled on require with the
 * `typescript` dev dependency, as the worker threads do under ts-jest; the compiled files are kept in a cache folder
 * (keyed by path, size and modification time) so that later processes start faster.
 */
import { spawn, type ChildProcess } from 'child_process';
import * as os from 'os';
import * as path from 'path';

const TS_REQUIRE_HOOK = `
const Module = require('module');
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const entry = process.argv[1];
const cacheDir = process.env.HRNET_TS_CACHE;
fs.mkdirSync(cacheDir, { recursive: true });
const req = Module.createRequire(entry);
let ts;
Module._extensions['.ts'] = function (module, filename) {
  const st = fs.statSync(filename);
  const key = crypto.createHash('sha1').update(filename + ':' + st.size + ':' + st.mtimeMs).digest('hex');
  const cached = path.join(cacheDir, key + '.js');
  let code;
  try {
    code = fs.readFileSync(cached, 'utf8');
  } catch {
    ts = ts || req('typescript');
    code = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
      fileName: filename,
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    }).outputText;
    const tmp = cached + '.' + process.pid;
    fs.writeFileSync(tmp, code);
    fs.renameSync(tmp, cached);
  }
  module._compile(code, filename);
};
req(entry);
`;

/**
 * Spawns `node FILE ARGS…` for a TypeScript `file`; stdout and stderr are piped.
 * @param file path of the `.ts` entry
 * @param baseEnv the process's environment (default: this one's)
 */
export function spawnTs(file: string, args: readonly string[], baseEnv: NodeJS.ProcessEnv = process.env): ChildProcess {
  const env = { ...baseEnv, HRNET_TS_CACHE: path.join(os.tmpdir(), 'hrnet-ts-cache') };
  return spawn(process.execPath, ['-e', TS_REQUIRE_HOOK, path.resolve(file), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
}
