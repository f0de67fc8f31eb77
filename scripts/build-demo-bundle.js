#!/usr/bin/env node
/**
 * Bundles the demo page script (src/web/demo-page.ts) with the project code it imports — the crop, flip
 * test and decoding of `hrnet predict`, and its skeleton drawing — into one browser script,
 * dist/demo/hrnet-demo.js, which `hrnet export --demo` copies beside the page.
 *
 * `@tensorflow/tfjs` is the page's stock TF.js (the global `tf` of tf.min.js), not a second copy. Node-only
 * modules that files on that path import for other functions (sharp, fs) become empty modules: nothing on the
 * page's path calls them (the bundle would fail in the page if it did).
 *
 * Usage: node scripts/build-demo-bundle.js [OUT_FILE]   (also `npm run build`)
 */
const path = require('path');
const esbuild = require('esbuild');

const ROOT = path.resolve(__dirname, '..');
const ENTRY = path.join(ROOT, 'src', 'web', 'demo-page.ts');
/** Where `hrnet export --demo` looks for the bundle. */
const DEFAULT_OUT = path.join(ROOT, 'dist', 'demo', 'hrnet-demo.js');
const NODE_ONLY = /^(node:.*|fs|path|os|sharp|worker_threads|child_process|zlib|util|url|crypto|http|https|net|stream)$/;

/** `@tensorflow/tfjs` → the page's global `tf`. */
const globalTfjs = {
  name: 'global-tfjs',
  setup(build) {
    build.onResolve({ filter: /^@tensorflow\/tfjs$/ }, () => ({ path: 'tf', namespace: 'global-tfjs' }));
    build.onLoad({ filter: /.*/, namespace: 'global-tfjs' }, () => ({
      contents: "if (typeof tf === 'undefined') throw new Error('hrnet-demo.js: load tf.min.js first'); module.exports = tf;",
      loader: 'js',
    }));
  },
};

/** Node-only modules → empty modules. */
const nodeOnlyEmpty = {
  name: 'node-only-empty',
  setup(build) {
    build.onResolve({ filter: NODE_ONLY }, (args) => ({ path: args.path, namespace: 'node-only' }));
    build.onLoad({ filter: /.*/, namespace: 'node-only' }, () => ({ contents: 'module.exports = {};', loader: 'js' }));
  },
};

/**
 * Builds the bundle.
 * @param {string} [outfile] output file (default dist/demo/hrnet-demo.js)
 * @returns {Promise<string>} the output file
 */
async function buildDemoBundle(outfile = DEFAULT_OUT) {
  await esbuild.build({
    entryPoints: [ENTRY],
    outfile,
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: ['es2020'],
    tsconfig: path.join(ROOT, 'tsconfig.browser.json'),
    plugins: [globalTfjs, nodeOnlyEmpty],
    banner: { js: '/* hrnet-tfjs demo page script: built by scripts/build-demo-bundle.js from src/web/demo-page.ts */' },
    logLevel: 'warning',
  });
  return outfile;
}

module.exports = { buildDemoBundle, DEFAULT_OUT };

if (require.main === module) {
  buildDemoBundle(process.argv[2] ? path.resolve(process.argv[2]) : DEFAULT_OUT).then(
    (out) => console.log(`demo page script: ${path.relative(process.cwd(), out)}`),
    (err) => {
      console.error(err.message);
      process.exitCode = 1;
    },
  );
}
