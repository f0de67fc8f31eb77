/**
 * `hrnet export --checkpoint CKPT --out DIR [--format tfjs|onnx|pth] [--demo]`: a project checkpoint →
 * a TF.js layers model (`model.json` + weight shards) that a browser loads with stock TF.js, an ONNX
 * model (`model.onnx`), or an official PyTorch state dict (`model.pth`); `hrnet-meta.json` beside each.
 * With `--demo` (tfjs only), a demo page (`index.html`) beside the TF.js model that runs it on a picked
 * image or the camera.
 */
import type { Argv, CommandModule } from 'yargs';
import { readCheckpoint } from '../io/checkpoint';
import { writeDemoPage } from '../io/demo-page';
import { DEFAULT_SHARD_BYTES, EXPORT_FORMATS, ExportFormat, exportModel, keypointMetaOfConfig } from '../io/export';
import { GlobalArgs, startBackend, withBackend } from './common';

interface ExportArgs extends GlobalArgs {
  checkpoint: string;
  out: string;
  format: ExportFormat;
  'input-size'?: number[];
  'shard-mb'?: number;
  /** Also write the demo page (`index.html` and the scripts it loads). */
  demo?: boolean;
}

export const exportCommand: CommandModule<object, ExportArgs> = {
  command: 'export',
  describe: 'export a checkpoint: a TF.js layers model for the browser, an ONNX model, or an official PyTorch state dict (with hrnet-meta.json)',
  builder: (y: Argv) =>
    withBackend(y)
      .option('checkpoint', { type: 'string', demandOption: true, describe: 'project checkpoint file, or a directory holding one' })
      .option('out', { type: 'string', demandOption: true, describe: 'output directory' })
      .option('format', {
        choices: EXPORT_FORMATS,
        default: 'tfjs' as ExportFormat,
        describe: 'tfjs: model.json + weight shards; onnx: model.onnx (NCHW, dynamic batch); pth: model.pth (official state dict)',
      })
      .option('input-size', {
        type: 'number',
        array: true,
        describe: 'input width and height of the exported model, multiples of 32 (default: MODEL.IMAGE_SIZE)',
      })
      .option('shard-mb', {
        type: 'number',
        default: DEFAULT_SHARD_BYTES / (1024 * 1024),
        describe: 'largest weight shard in MiB',
      })
      .option('demo', {
        type: 'boolean',
        default: false,
        describe: 'also write index.html, a page that runs the model on an image or the camera (with tf.min.js and hrnet-demo.js beside it)',
      }) as unknown as Argv<ExportArgs>,
  handler: async (args) => {
    const size = args['input-size'];
    if (size !== undefined && (size.length !== 2 || !size.every((d) => Number.isInteger(d) && d > 0 && d % 32 === 0))) {
      throw new Error(`--input-size expects two positive multiples of 32 (width height), got ${size.join(' ')}`);
    }
    const shardMb = args['shard-mb'] ?? DEFAULT_SHARD_BYTES / (1024 * 1024);
    if (!(shardMb > 0)) throw new Error(`--shard-mb must be positive, got ${shardMb}`);
    if (args.demo && args.format !== 'tfjs') {
      throw new Error(`--demo runs the TF.js model in a page: use it with --format tfjs (the default), not ${args.format}`);
    }
    await startBackend(args);
    const result = await exportModel(args.checkpoint, args.out, undefined, {
      format: args.format,
      inputSize: size === undefined ? undefined : [size[0], size[1]],
      shardBytes: Math.max(4, Math.round(shardMb * 1024 * 1024)),
    });
    for (const w of result.warnings) console.warn(`warning: ${w}`);
    const [w, h] = result.meta.inputSize;
    console.log(`exported ${args.checkpoint} → ${result.dir} (${result.format})`);
    console.log(`  input ${w}×${h} (W×H), heatmaps ${result.meta.heatmapSize.join('×')}, ${result.meta.numJoints} joints, ${result.numWeights.toLocaleString('en-US')} weights`);
    const d = result.meta.decode;
    console.log(`  decoding ${d.method}${d.postProcess ? '' : ' (refinement off)'}, flip test ${d.flipTest ? 'on' : 'off'}${d.flipTest && d.shiftHeatmap ? ', shift heatmap' : ''}`);
    for (const f of result.files) console.log(`  ${f}`);
    if (args.demo) {
      const { config } = readCheckpoint(args.checkpoint);
      const { meta: keypointMeta } = keypointMetaOfConfig(config);
      const files = writeDemoPage(result.dir, { config, keypointMeta, inputSize: result.meta.inputSize });
      for (const f of files) console.log(`  ${f}`);
      console.log(`demo page: serve ${result.dir} over http (e.g. python3 -m http.server there) and open index.html`);
    }
  },
};
