/**
 * Pieces every CLI command shares: the `--backend` and `--set` options, backend start-up (which
 * prints the backend in use) and config loading.
 */
import type { Argv } from 'yargs';
import { initBackend } from '../backend/select';
import { loadConfig } from '../config/load';
import type { Config } from '../config/schema';

/** Options every command accepts. */
export interface GlobalArgs {
  backend?: string;
}

/** Adds `--backend`. */
export function withBackend<T>(y: Argv<T>): Argv<T & GlobalArgs> {
  return y.option('backend', {
    type: 'string',
    describe: 'TF.js backend: node-gpu | webgpu | node | wasm | cpu (default: the best that loads; env HRNET_BACKEND)',
  });
}

/** Adds `--config FILE` and repeatable `--set KEY=VALUE`. */
export function withConfig<T>(y: Argv<T>, required = true) {
  return y
    .option('config', { type: 'string', demandOption: required, describe: 'experiment YAML (official layout)' })
    .option('set', {
      type: 'string',
      array: true,
      default: [] as string[],
      describe: 'override a config key, e.g. --set TRAIN.LR=0.0005 (repeatable)',
    });
}

/** Starts the backend and prints which one runs. */
export async function startBackend(args: GlobalArgs): Promise<void> {
  await initBackend({ preferred: args.backend });
}

/** Loads `--config` with the `--set` overrides. */
export function configFromArgs(args: { config?: string; set?: string[] }): Config {
  if (!args.config) throw new Error('--config FILE is required');
  return loadConfig(args.config, args.set ?? []);
}

/** A command line that does not parse (unknown command or option, missing argument, bad value). */
export class UsageError extends Error {
  constructor(message: string) {
    super(`${message}\n\nRun \`hrnet --help\` for usage.`);
    this.name = 'UsageError';
  }
}
