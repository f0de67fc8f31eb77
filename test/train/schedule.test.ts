import { multiStepLr } from '../../src/train/schedule';

/**
 * The official training loop with PyTorch 1.13 `MultiStepLR` semantics, step by step: the
 * constructor steps once (last_epoch −1 → 0), then `step()` runs at the start of every epoch;
 * each step multiplies the LR by gamma^count when `last_epoch` hits a milestone.
 * @returns the LR seen by each epoch from `beginEpoch` to `endEpoch − 1`
 */
function officialLoop(baseLr: number, milestones: number[], gamma: number, beginEpoch: number, endEpoch: number): number[] {
  let lastEpoch = -1;
  let lr = baseLr;
  const step = (): void => {
    lastEpoch += 1;
    const count = milestones.filter((m) => m === lastEpoch).length;
    if (count > 0) lr = lr * gamma ** count;
  };
  step(); // in the constructor
  const seen: number[] = [];
  for (let epoch = beginEpoch; epoch < endEpoch; epoch++) {
    step();
    seen.push(lr);
  }
  return seen;
}

describe('multiStepLr (official MultiStepLR, stepped at the start of each epoch)', () => {
  const base = 1e-3;
  const milestones = [170, 200];

  it('drops one epoch before each milestone: epochs 169 and 199 (0-based)', () => {
    expect(multiStepLr(base, milestones, 0.1, 0)).toBe(base);
    expect(multiStepLr(base, milestones, 0.1, 168)).toBe(base);
    expect(multiStepLr(base, milestones, 0.1, 169)).toBe(base * 0.1);
    expect(multiStepLr(base, milestones, 0.1, 170)).toBe(base * 0.1);
    expect(multiStepLr(base, milestones, 0.1, 198)).toBe(base * 0.1);
    expect(multiStepLr(base, milestones, 0.1, 199)).toBe(base * 0.1 * 0.1);
    expect(multiStepLr(base, milestones, 0.1, 200)).toBe(base * 0.1 * 0.1);
    expect(multiStepLr(base, milestones, 0.1, 209)).toBe(base * 0.1 * 0.1);
  });

  it('equals the official loop for every epoch of a 210-epoch run', () => {
    const seen = officialLoop(base, milestones, 0.1, 0, 210);
    seen.forEach((lr, epoch) => expect([epoch, multiStepLr(base, milestones, 0.1, epoch)]).toEqual([epoch, lr]));
  });

  it('counts from BEGIN_EPOCH: a run beginning at 10 drops at epochs 179 and 209', () => {
    const seen = officialLoop(base, milestones, 0.1, 10, 215);
    seen.forEach((lr, i) => expect(multiStepLr(base, milestones, 0.1, 10 + i, 10)).toBe(lr));
    expect(multiStepLr(base, milestones, 0.1, 178, 10)).toBe(base);
    expect(multiStepLr(base, milestones, 0.1, 179, 10)).toBe(base * 0.1);
    expect(multiStepLr(base, milestones, 0.1, 209, 10)).toBe(base * 0.1 * 0.1);
  });

  it('handles unsorted and repeated milestones like PyTorch (Counter)', () => {
    const ms = [200, 90, 170, 170];
    const seen = officialLoop(0.05, ms, 0.5, 0, 220);
    seen.forEach((lr, epoch) => expect(multiStepLr(0.05, ms, 0.5, epoch)).toBe(lr));
    expect(multiStepLr(0.05, ms, 0.5, 169)).toBe(0.05 * 0.5 * 0.5 ** 2);
  });

  it('a milestone at 0 applies from the first epoch (reached by the constructor step)', () => {
    expect(multiStepLr(base, [0], 0.1, 0)).toBe(officialLoop(base, [0], 0.1, 0, 1)[0]);
    expect(multiStepLr(base, [0], 0.1, 0)).toBe(base * 0.1);
  });

  it('rejects invalid arguments with the config field name', () => {
    expect(() => multiStepLr(base, [170.5], 0.1, 3)).toThrow(/TRAIN.LR_STEP/);
    expect(() => multiStepLr(-1, milestones, 0.1, 3)).toThrow(/TRAIN.LR/);
    expect(() => multiStepLr(base, milestones, 0.1, 3, 5)).toThrow(/epoch must be an integer >= beginEpoch \(5\)/);
    expect(() => multiStepLr(base, milestones, Number.NaN, 3)).toThrow(/TRAIN.LR_FACTOR/);
  });
});
