import { useTestBackend } from '../helpers/backend';
import { runCli } from '../helpers/cli';

beforeAll(async () => {
  await useTestBackend();
});


describe('hrnet info', () => {
  it('prints the official parameter and MAC counts of W32 256×192', async () => {
    const out = await runCli(['info', '--config', 'configs/coco/w32_256x192.yaml']);
    expect(out).toMatch(/parameters:\s+28,536,113/);
    expect(out).toMatch(/MACs\/image:\s+7,645,003,776/);
  });

  it('applies --set overrides and prints JSON', async () => {
    const out = await runCli(['info', '--config', 'configs/coco/w32_256x192.yaml', '--set', 'MODEL.NUM_JOINTS=21', '--json']);
    const info = JSON.parse(out) as { parameters: number; joints: number };
    expect(info.joints).toBe(21);
    // final_layer: 32·K weights + K biases; 4 more joints than COCO add 4·33 parameters.
    expect(info.parameters).toBe(28536113 + 4 * 33);
  });

  it('names the unknown key and the closest valid one', async () => {
    await expect(runCli(['info', '--config', 'configs/coco/w32_256x192.yaml', '--set', 'TRAIN.LRR=1'])).rejects.toThrow(
      /unknown key TRAIN\.LRR — did you mean LR\?/,
    );
  });
});
