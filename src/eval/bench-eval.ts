/**
 * The `eval` benchmark: `hrnet eval-coco`'s work (read and parse both files, evaluate, as the command does) on a generated case of
 * val2017's size ({@link makeCocoEvalCase}), timed over several runs; optionally pycocotools on the same files
 * (`scripts/pycocotools-time.py`, with the Python that has pycocotools) for the ratio.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { readJsonFile, readJsonFileWithout } from '../data/json-file';
import type { CocoKeypointResult, CocoKeypointsFile } from '../data/coco-format';
import { evaluateCocoKeypoints } from './coco-eval';
import { makeCocoEvalCase } from './coco-eval-case';

/** Options of {@link benchmarkCocoEval}. */
export interface EvalBenchmarkOptions {
  /** Folder of the case files (`gt.json`, `results.json`); written when absent. */
  dir: string;
  /** Timed runs (median reported). */
  runs: number;
  /** Python interpreter to time pycocotools with (`scripts/pycocotools-time.py`); none when undefined. */
  python?: string;
}

/** What {@link benchmarkCocoEval} measured. */
export interface EvalBenchmarkResult {
  gtFile: string;
  resultsFile: string;
  /** Sizes in bytes. */
  gtBytes: number;
  resultsBytes: number;
  images: number;
  annotations: number;
  results: number;
  /** Median seconds of read + parse + evaluate. */
  seconds: number;
  /** Every run's seconds. */
  runs: number[];
  /** AP of the case. */
  AP: number;
  /** pycocotools: seconds of `COCO()`, `loadRes`, `evaluate`, `accumulate`, `summarize`, and its AP. */
  pycocotools?: { seconds: number; AP: number; maxAbsStatDiff: number };
}

/** Writes the case files into `dir` unless they are there. */
function ensureCase(dir: string): { gtFile: string; resultsFile: string } {
  const gtFile = path.join(dir, 'gt.json');
  const resultsFile = path.join(dir, 'results.json');
  if (!fs.existsSync(gtFile) || !fs.existsSync(resultsFile)) {
    const c = makeCocoEvalCase();
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(gtFile, JSON.stringify(c.gt));
    fs.writeFileSync(resultsFile, JSON.stringify(c.results));
  }
  return { gtFile, resultsFile };
}

/** Times `eval-coco`'s work on the generated case; see the file comment. */
export function benchmarkCocoEval(opts: EvalBenchmarkOptions): EvalBenchmarkResult {
  const { gtFile, resultsFile } = ensureCase(opts.dir);
  const runs: number[] = [];
  let stats: number[] = [];
  let counts = { images: 0, annotations: 0, results: 0 };
  for (let i = 0; i < opts.runs; i++) {
    const started = process.hrtime.bigint();
    const gt = readJsonFileWithout(gtFile, 'ground-truth file', ['segmentation']) as CocoKeypointsFile;
    const results = readJsonFile(resultsFile, 'results file') as CocoKeypointResult[];
    const r = evaluateCocoKeypoints(gt, results, {}, { gt: gtFile, results: resultsFile });
    runs.push(Number(process.hrtime.bigint() - started) / 1e9);
    stats = r.statsList;
    counts = { images: gt.images.length, annotations: gt.annotations.length, results: results.length };
  }
  const sorted = [...runs].sort((a, b) => a - b);
  const out: EvalBenchmarkResult = {
    gtFile,
    resultsFile,
    gtBytes: fs.statSync(gtFile).size,
    resultsBytes: fs.statSync(resultsFile).size,
    ...counts,
    seconds: sorted[Math.floor(sorted.length / 2)],
    runs,
    AP: stats[0],
  };
  if (opts.python !== undefined) {
    const script = path.join(__dirname, '..', '..', 'scripts', 'pycocotools-time.py');
    const py = spawnSync(opts.python, [script, gtFile, resultsFile], { encoding: 'utf8' });
    if (py.status !== 0) throw new Error(`${opts.python} ${script}: exited with ${py.status}: ${py.stderr.trim().split('\n').pop()}`);
    const measured = JSON.parse(py.stdout.trim().split('\n').pop() as string) as { seconds: number; stats: number[] };
    const maxAbsStatDiff = Math.max(...measured.stats.map((v, i) => Math.abs(v - stats[i])));
    out.pycocotools = { seconds: measured.seconds, AP: measured.stats[0], maxAbsStatDiff };
  }
  return out;
}
