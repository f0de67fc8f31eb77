/**
 * `hrnet eval-coco --gt GT.json --results RESULTS.json [--sigmas …] [--json]`: COCO keypoint AP/AR of
 * any results file, computed as pycocotools computes it.
 */
import type { Argv, CommandModule } from 'yargs';
import type { CocoKeypointResult, CocoKeypointsFile } from '../data/coco-format';
import { readJsonFile, readJsonFileWithout } from '../data/json-file';
import { evaluateCocoKeypoints, formatCocoSummary } from '../eval/coco-eval';

interface EvalCocoArgs {
  gt: string;
  results: string;
  sigmas?: number[];
  json: boolean;
}

export const evalCocoCommand: CommandModule<object, EvalCocoArgs> = {
  command: 'eval-coco',
  describe: 'COCO keypoint AP/AR of a results file against a ground-truth file (pycocotools semantics)',
  builder: (y: Argv) =>
    y
      .option('gt', { type: 'string', demandOption: true, describe: 'COCO keypoints annotation file' })
      .option('results', { type: 'string', demandOption: true, describe: 'results: [{image_id, category_id, keypoints, score}]' })
      .option('sigmas', { type: 'number', array: true, describe: 'per-keypoint OKS sigmas (default: COCO’s 17)' })
      .option('json', { type: 'boolean', default: false, describe: 'print {"AP", "AP50", …} as JSON' }) as unknown as Argv<EvalCocoArgs>,
  handler: (args) => {
    // Keypoint evaluation does not read the segmentation polygons: they are never built.
    const gt = readJsonFileWithout(args.gt, 'ground-truth file', ['segmentation']) as CocoKeypointsFile;
    const results = readJsonFile(args.results, 'results file');
    if (!Array.isArray(results)) {
      throw new Error(`results file ${args.results}: expected a JSON list of results [{image_id, category_id, keypoints, score}], got ${typeof results}`);
    }
    const params = args.sigmas ? { kptOksSigmas: args.sigmas } : {};
    const r = evaluateCocoKeypoints(gt, results as CocoKeypointResult[], params, { gt: args.gt, results: args.results });
    if (args.json) console.log(JSON.stringify(r.stats));
    else for (const line of formatCocoSummary(r)) console.log(line);
  },
};
