/** `hrnet import --config FILE --weights official.pth --out DIR`: an official checkpoint → a project checkpoint. */
import * as path from 'path';
import type { Argv, CommandModule } from 'yargs';
import { readPth } from '../io/pth';
import { loadStateDict } from '../io/state-dict';
import { saveModelCheckpoint } from '../io/checkpoint';
import { createPoseHRNet } from '../model/pose-hrnet';
import { GlobalArgs, configFromArgs, startBackend, withBackend, withConfig } from './common';

interface ImportArgs extends GlobalArgs {
  config?: string;
  set?: string[];
  weights: string;
  out: string;
  strict: boolean;
}

export const importCommand: CommandModule<object, ImportArgs> = {
  command: 'import',
  describe: 'convert an official PyTorch .pth (zip or legacy format) into a project checkpoint',
  builder: (y: Argv) =>
    withConfig(withBackend(y))
      .option('weights', { type: 'string', demandOption: true, describe: 'official .pth file' })
      .option('out', { type: 'string', demandOption: true, describe: 'output checkpoint directory' })
      .option('strict', { type: 'boolean', default: true, describe: 'require every key to match (--no-strict loads what fits)' }) as unknown as Argv<ImportArgs>,
  handler: async (args) => {
    const config = configFromArgs(args);
    await startBackend(args);
    // Strict: every weight comes from the file. Otherwise what it lacks keeps the official random init.
    const model = createPoseHRNet(config, { initWeights: !args.strict });
    try {
      const report = loadStateDict(model, readPth(args.weights), { strict: args.strict, source: args.weights });
      console.log(`loaded ${report.loaded.length} tensors from ${args.weights}`);
      for (const k of report.missing) console.log(`  not in the file (kept initial values): ${k}`);
      for (const k of report.unexpected) console.log(`  not in the model (ignored): ${k}`);
      for (const m of report.mismatched) console.log(`  shape differs (kept initial values): ${m.key} model [${m.expected}] file [${m.found}]`);
      const file = path.join(args.out, 'model.ckpt');
      await saveModelCheckpoint(file, model, config);
      console.log(`wrote ${file}`);
    } finally {
      model.dispose();
    }
  },
};
