/** Types of scripts/build-demo-bundle.js (for the tests that build the demo page script). */
/** Where `hrnet export --demo` looks for the bundle: `dist/demo/hrnet-demo.js`. */
export const DEFAULT_OUT: string;
/** Bundles `src/web/demo-page.ts` for browsers; resolves to the output file. */
export function buildDemoBundle(outfile?: string): Promise<string>;
