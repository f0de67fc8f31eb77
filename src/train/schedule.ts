/**
 * Step learning-rate schedule of the official training script: `torch.optim.lr_scheduler.MultiStepLR(
 * optimizer, TRAIN.LR_STEP, TRAIN.LR_FACTOR, last_epoch=last_epoch)`, stepped once per epoch.
 *
 * When the LR drops. The official `tools/train.py` (PyTorch 1.13 semantics) builds the scheduler —
 * whose constructor already performs one `step()`, moving `last_epoch` from −1 to 0 — and then runs
 * ```
 * for epoch in range(begin_epoch, END_EPOCH):
 *     lr_scheduler.step()          # before the epoch's training
 *     train(...)
 * ```
 * so while epoch `e` trains, the scheduler's `last_epoch` is `e − BEGIN_EPOCH + 1`, and each milestone
 * `m` in `LR_STEP` multiplies the LR by `LR_FACTOR` from `last_epoch = m` on. With `BEGIN_EPOCH` 0 and
 * `LR_STEP [170, 200]`, `LR_FACTOR 0.1`, epochs are 0-based and
 * - epochs 0 … 168 train with `LR`,
 * - epochs 169 … 198 with `0.1 · LR`,
 * - epochs 199 … with `0.01 · LR`,
 * i.e. the drop happens one epoch before the milestone number. The schedule counts epochs from the
 * start of the run (`BEGIN_EPOCH`), not from epoch 0.
 *
 * Resume. The official script, resuming from a checkpoint saved after epoch `E − 1` (`'epoch': E`),
 * restores the optimizer's LR and builds the scheduler with `last_epoch = E`; its constructor step and
 * the loop's step then put `last_epoch` at `e + 2` while epoch `e` trains, so a resumed run drops the
 * LR one epoch earlier than the uninterrupted run would (for milestones after the resume point). This
 * module defines the LR of an epoch by the uninterrupted run, so a resumed run continues exactly as
 * if it had not stopped: pass the original run's `beginEpoch` when resuming.
 */

/**
 * Learning rate used while training epoch `epoch`, as the official `MultiStepLR` gives it in an
 * uninterrupted run that began at `beginEpoch`.
 *
 * The scheduler position is `lastEpoch = epoch − beginEpoch + 1`; every milestone `m ≤ lastEpoch`
 * multiplies the LR by `gamma` (a milestone listed twice counts twice, as PyTorch's `Counter`), applied
 * milestone by milestone in ascending order in float64, as PyTorch's chained updates do.
 *
 * @param baseLr initial learning rate (`TRAIN.LR`)
 * @param milestones scheduler positions at which the LR is multiplied by `gamma` (`TRAIN.LR_STEP`), any order
 * @param gamma multiplicative factor (`TRAIN.LR_FACTOR`)
 * @param epoch 0-based epoch about to be trained, `>= beginEpoch`
 * @param beginEpoch first epoch of the run (`TRAIN.BEGIN_EPOCH`, default 0)
 * @returns the learning rate for that epoch
 */
export function multiStepLr(
  baseLr: number,
  milestones: readonly number[],
  gamma: number,
  epoch: number,
  beginEpoch = 0,
): number {
  if (!Number.isFinite(baseLr) || baseLr < 0) {
    throw new Error(`multiStepLr: baseLr (TRAIN.LR) must be a finite number >= 0; got ${baseLr}`);
  }
  if (!Number.isFinite(gamma)) throw new Error(`multiStepLr: gamma (TRAIN.LR_FACTOR) must be finite; got ${gamma}`);
  for (const m of milestones) {
    if (!Number.isInteger(m)) {
      throw new Error(`multiStepLr: milestones (TRAIN.LR_STEP) must be integers; got [${milestones.join(', ')}]`);
    }
  }
  if (!Number.isInteger(beginEpoch) || beginEpoch < 0) {
    throw new Error(`multiStepLr: beginEpoch (TRAIN.BEGIN_EPOCH) must be an integer >= 0; got ${beginEpoch}`);
  }
  if (!Number.isInteger(epoch) || epoch < beginEpoch) {
    throw new Error(`multiStepLr: epoch must be an integer >= beginEpoch (${beginEpoch}); got ${epoch}`);
  }
  const lastEpoch = epoch - beginEpoch + 1;
  // PyTorch multiplies by gamma ** count once per distinct milestone reached; position 0 is reached
  // by the step in the scheduler constructor
  const counts = new Map<number, number>();
  for (const m of milestones) counts.set(m, (counts.get(m) ?? 0) + 1);
  let lr = baseLr;
  for (const m of [...counts.keys()].sort((a, b) => a - b)) {
    if (m >= 0 && m <= lastEpoch) lr *= gamma ** (counts.get(m) as number);
  }
  return lr;
}
