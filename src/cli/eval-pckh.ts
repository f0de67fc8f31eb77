/**
 * `hrnet eval-pckh --gt GT.json --preds PREDS.json [--json]`: MPII PCKh@0.5 of predictions against
 * MPII annotations with head boxes, as the official `MPIIDataset.evaluate` computes it.
 */
import type { Argv, CommandModule } from 'yargs';
import { readJsonFile } from '../data/dataset';
import { evaluatePckh, formatPckhTable, MPII_NUM_JOINTS, PckhInput, PckhResult, pckhNameValue } from '../eval/pckh';

/** Arguments of `hrnet eval-pckh`. */
export interface EvalPckhArgs {
  /** Ground-truth file: `{gt_joints, jnt_missing, headboxes}`. */
  gt: string;
  /** Predictions file: `N×16×[x, y]` or `{preds: …}`. */
  preds: string;
  /** Print the summary as JSON instead of the table. */
  json: boolean;
}

const EPILOG = `Input formats (N persons, ${MPII_NUM_JOINTS} joints in the MPII order r_ankle, r_knee, r_hip, l_hip, l_knee, l_ankle,
pelvis, thorax, upper_neck, head_top, r_wrist, r_elbow, r_shoulder, l_shoulder, l_elbow, l_wrist):
  GT.json     {"gt_joints": N×16×[x, y]  1-based MPII pixel coordinates (−1 where missing),
               "jnt_missing": N×16       1 where the joint is not annotated,
               "headboxes": N×[[x1, y1], [x2, y2]]  head box corners}
              (the layout of the official gt_valid.mat, as JSON)
  PREDS.json  N×16×[x, y] 0-based pixel coordinates (1 is added, as the official evaluate does),
              or an object with that list in its "preds" field
GT.json may hold "preds" too and serve as both files.`;

/** The summary printed by `--json`: the official names and percentages. */
export type PckhSummary = Record<'Head' | 'Shoulder' | 'Elbow' | 'Wrist' | 'Hip' | 'Knee' | 'Ankle' | 'Mean' | 'Mean@0.1', number>;

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/**
 * Reads the ground truth of {@link EvalPckhArgs.gt}.
 * @returns gtJoints `[N][16][2]`, jntMissing `[N][16]`, headboxes `[N][2][2]`
 * @throws an error naming the file and the missing or malformed field
 */
export function readPckhGroundTruth(file: string): Omit<PckhInput, 'preds'> {
  const data = readJsonFile(file, 'PCKh ground-truth file');
  if (!isRecord(data)) throw new Error(`${file}: expected an object {gt_joints, jnt_missing, headboxes}, got ${Array.isArray(data) ? 'a list' : typeof data}`);
  const field = (name: string): unknown[] => {
    const v = data[name];
    if (!Array.isArray(v)) throw new Error(`${file}: field "${name}" must be a list with one entry per person, got ${v === undefined ? 'nothing' : typeof v}`);
    return v;
  };
  return {
    gtJoints: field('gt_joints') as PckhInput['gtJoints'],
    jntMissing: field('jnt_missing') as PckhInput['jntMissing'],
    headboxes: field('headboxes') as PckhInput['headboxes'],
  };
}

/**
 * Reads the predictions of {@link EvalPckhArgs.preds}: a list, or an object with a `preds` list.
 * @returns preds `[N][16][2]`, 0-based
 * @throws an error naming the file when neither form is found
 */
export function readPckhPredictions(file: string): PckhInput['preds'] {
  const data = readJsonFile(file, 'PCKh predictions file');
  const preds = isRecord(data) ? data.preds : data;
  if (!Array.isArray(preds)) {
    throw new Error(`${file}: expected a list N×16×[x, y] of predictions or an object with a "preds" list`);
  }
  return preds as PckhInput['preds'];
}

/** PCKh of the two files; errors name the files. */
export function evaluatePckhFiles(gtFile: string, predsFile: string): PckhResult {
  const gt = readPckhGroundTruth(gtFile);
  const preds = readPckhPredictions(predsFile);
  if (preds.length !== gt.gtJoints.length) {
    throw new Error(`${predsFile} has ${preds.length} persons but ${gtFile} has ${gt.gtJoints.length}; they must match one to one`);
  }
  try {
    return evaluatePckh({ preds, ...gt });
  } catch (e) {
    throw new Error(`${gtFile} / ${predsFile}: ${(e as Error).message}`);
  }
}

/** The `--json` summary of a PCKh result. */
export function pckhSummary(result: PckhResult): PckhSummary {
  return Object.fromEntries(pckhNameValue(result)) as PckhSummary;
}

export const evalPckhCommand: CommandModule<object, EvalPckhArgs> = {
  command: 'eval-pckh',
  describe: 'MPII PCKh@0.5 of predictions against annotations with head boxes (official MPII evaluate)',
  builder: (y: Argv) =>
    y
      .option('gt', { type: 'string', demandOption: true, describe: 'ground truth {gt_joints, jnt_missing, headboxes} (see below)' })
      .option('preds', { type: 'string', demandOption: true, describe: 'predictions N×16×[x, y], 0-based, or {preds: …}' })
      .option('json', { type: 'boolean', default: false, describe: 'print {"Head", …, "Mean", "Mean@0.1"} as JSON' })
      .epilog(EPILOG) as unknown as Argv<EvalPckhArgs>,
  handler: (args) => {
    const result = evaluatePckhFiles(args.gt, args.preds);
    if (args.json) console.log(JSON.stringify(pckhSummary(result)));
    else for (const line of formatPckhTable(result)) console.log(line);
  },
};
