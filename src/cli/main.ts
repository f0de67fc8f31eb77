#!/usr/bin/env node
/** The `hrnet` command line: one file a command under src/cli. */
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { benchCommand } from './bench';
import { evalCommand } from './eval';
import { evalCocoCommand } from './eval-coco';
import { evalPckhCommand } from './eval-pckh';
import { exportCommand } from './export';
import { importCommand } from './import';
import { gpusCommand } from './gpus';
import { infoCommand } from './info';
import { predictCommand } from './predict';
import { showCommand } from './show';
import { synthCommand } from './synth';
import { trainCommand } from './train';
import { UsageError } from './common';

export { UsageError };

export async function main(argv: string[]): Promise<void> {
  await yargs(argv)
    .scriptName('hrnet')
    .command(trainCommand)
    .command(infoCommand)
    .command(gpusCommand)
    .command(importCommand)
    .command(synthCommand)
    .command(showCommand)
    .command(exportCommand)
    .command(evalCommand)
    .command(predictCommand)
    .command(evalCocoCommand)
    .command(evalPckhCommand)
    .command(benchCommand)
    .demandCommand(1, 'name a command; `hrnet --help` lists them')
    .strict()
    .recommendCommands()
    .help()
    .fail((msg, err) => {
      throw err ?? new UsageError(msg);
    })
    .parseAsync();
}

if (require.main === module) {
  main(hideBin(process.argv)).catch((e: unknown) => {
    const err = e as Error;
    console.error(err instanceof UsageError ? err.message : `error: ${err.message}`);
    if (process.env.HRNET_DEBUG) console.error(err.stack);
    process.exitCode = err instanceof UsageError ? 2 : 1;
  });
}
