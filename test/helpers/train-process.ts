/**
 * A training process for tests that kill one: `train-process.ts OUT_DIR CONFIG_FILE OVERRIDES_JSON` trains with
 * `resume` on the test backend, logging every line on stderr, and exits 0 when the run is done.
 */
import * as tf from '@tensorflow/tfjs';
import { loadConfig } from '../../src/config/load';
import { train } from '../../src/train/trainer';
import { useTestBackend } from './backend';

async function run(): Promise<void> {
  const [outDir, configFile, overridesJson] = process.argv.slice(2);
  await useTestBackend();
  const config = loadConfig(configFile, JSON.parse(overridesJson) as string[]);
  const result = await train({ config, outDir, resume: true, progress: false, log: (m) => process.stderr.write(`${m}\n`) });
  result.model.dispose();
  process.stderr.write(`done, ${tf.memory().numTensors} tensors\n`);
}

run().then(
  () => process.exit(0),
  (err: Error) => {
    process.stderr.write(`${err.stack ?? err.message}\n`);
    process.exit(1);
  },
);
