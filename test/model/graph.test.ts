/**
 * The network's description of itself (`PoseHRNet.describe`): it covers every weight of the model
 * under its official key, ends in heatmaps at stride 4, and the graph refuses inconsistent operations.
 */
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { loadConfig } from '../../src/config/load';
import { NetworkGraph } from '../../src/model/graph';
import { createPoseHRNet } from '../../src/model/pose-hrnet';
import { useTestBackend } from '../helpers/backend';
import { PARITY_DIR } from '../helpers/fixtures';

beforeAll(async () => {
  await useTestBackend();
});

describe('PoseHRNet.describe', () => {
  it('uses every variable of the model once, under its state-dict key, and outputs K maps at stride 4', () => {
    const config = loadConfig(path.join(PARITY_DIR, 'config.yaml'), ['MODEL.EXTRA.STAGE3.BLOCK=BOTTLENECK', 'MODEL.EXTRA.FINAL_CONV_KERNEL=3']);
    const model = createPoseHRNet(config, { initWeights: false });
    const graph = model.describe();
    const described = graph.variables();
    expect(described.map((v) => v.key).sort()).toEqual(model.params.list().map((e) => e.name).sort());
    for (const { key, variable } of described) expect(variable).toBe(model.params.get(key));
    expect(graph.output).toMatchObject({ channels: 17, stride: 4 });
    const kinds = new Map<string, number>();
    for (const op of graph.ops) kinds.set(op.kind, (kinds.get(op.kind) ?? 0) + 1);
    // stage2: 1 module × 1 upsampling path; stage3: 2 modules × 3; stage4: 1 module, one output × 3.
    expect(kinds.get('upsample')).toBe(1 + 2 * 3 + 3);
    const names = graph.ops.map((op) => op.name);
    expect(names).toContain('stage2.0.fuse_layers.0.1.2');
    expect(names).toContain('stage3.0.branches.0.0.bn3');
    expect(names).toContain('transition2.2.0.2');
    expect(names[names.length - 1]).toBe('final_layer');
    // Every op reads values computed before it.
    const known = new Set([graph.input.id]);
    for (const op of graph.ops) {
      for (const v of op.kind === 'add' ? op.inputs : [op.input]) expect(known.has(v.id)).toBe(true);
      known.add(op.output.id);
    }
    model.dispose();
  });
});

describe('NetworkGraph', () => {
  it('refuses channel mismatches, one-term sums, bad upsampling factors and duplicate names', () => {
    const graph = new NetworkGraph(3);
    const w = tf.variable(tf.zeros([3, 3, 4, 8]));
    expect(() =>
      graph.conv('c', graph.input, { kernelSize: 3, stride: 2, padding: 1, inChannels: 4, outChannels: 8, weight: w, bias: null }),
    ).toThrow(/c takes 4 channels but its input has 3/);
    const w3 = tf.variable(tf.zeros([3, 3, 3, 8]));
    const y = graph.conv('c', graph.input, { kernelSize: 3, stride: 2, padding: 1, inChannels: 3, outChannels: 8, weight: w3, bias: null });
    expect(y).toMatchObject({ channels: 8, stride: 2 });
    expect(() => graph.relu('c', y)).toThrow(/two operations are named c/);
    expect(() => graph.add('s', [y])).toThrow(/a sum needs at least two/);
    expect(() => graph.upsample('u', y, 4)).toThrow(/must be an integer dividing the input stride 2/);
    expect(graph.upsample('u', y, 2)).toMatchObject({ channels: 8, stride: 1 });
    expect(() => graph.output).toThrow(/no output was set/);
    tf.dispose([w, w3]);
  });
});
