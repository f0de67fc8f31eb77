/** `hrnet info --config FILE`: the network's size — parameters and multiply-accumulates. */
import type { Argv, CommandModule } from 'yargs';
import { createPoseHRNet } from '../model/pose-hrnet';
import { GlobalArgs, configFromArgs, startBackend, withBackend, withConfig } from './common';

interface InfoArgs extends GlobalArgs {
  config?: string;
  set?: string[];
  json?: boolean;
}

const fmt = (n: number) => n.toLocaleString('en-US');

export const infoCommand: CommandModule<object, InfoArgs> = {
  command: 'info',
  describe: 'print the parameter and multiply-accumulate counts of a config',
  builder: (y: Argv) =>
    withConfig(withBackend(y)).option('json', { type: 'boolean', default: false, describe: 'print JSON' }) as unknown as Argv<InfoArgs>,
  handler: async (args) => {
    const config = configFromArgs(args);
    await startBackend(args);
    const model = createPoseHRNet(config, { initWeights: false });
    try {
      const params = model.countParameters();
      const macs = model.countMacs();
      const [w, h] = model.imageSize;
      const [hw, hh] = model.heatmapSize;
      if (args.json) {
        console.log(JSON.stringify({ parameters: params, macs: macs.total, macsByTopModule: macs.byTopModule, input: [w, h], heatmap: [hw, hh], joints: model.numJoints }));
        return;
      }
      console.log(`config:       ${args.config}`);
      console.log(`input:        ${w}×${h} (W×H), heatmaps ${hw}×${hh}, ${model.numJoints} joints`);
      console.log(`parameters:   ${fmt(params)}`);
      console.log(`MACs/image:   ${fmt(macs.total)} (${(macs.total / 1e9).toFixed(2)} G)`);
      for (const [k, v] of Object.entries(macs.byTopModule)) console.log(`  ${k.padEnd(12)} ${fmt(v).padStart(16)}`);
    } finally {
      model.dispose();
    }
  },
};
