/**
 * Starting a worker (thread or process) from the TypeScript sources (ts-jest, ts-node) rather than compiled
 * JavaScript: a small bootstrap makes `require` compile `.ts` files with TypeScript's `transpileModule`, then
 * loads the worker's entry.
 */

/**
 * The source of that bootstrap; `entryExpression` is JavaScript that evaluates, inside it, to the entry's
 * path (e.g. `process.argv[1]`).
 */
export function tsBootstrap(entryExpression: string): string {
  return `
const Module = require('module');
const fs = require('fs');
const entry = ${entryExpression};
const req = Module.createRequire(entry);
const ts = req('typescript');
Module._extensions['.ts'] = function (module, filename) {
  const source = fs.readFileSync(filename, 'utf8');
  const out = ts.transpileModule(source, {
    fileName: filename,
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, sourceMap: false },
  });
  module._compile(out.outputText, filename);
};
req(entry);
`;
}
