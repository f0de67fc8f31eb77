/**
 * What to make smaller when a device runs out of memory, in the config's own terms and with their values.
 */
import type { Config } from './schema';

/**
 * Training (`train`): a replica computes `TRAIN.BATCH_SIZE_PER_GPU` images at once, of `MODEL.IMAGE_SIZE`.
 * Inference (`test`): `TEST.BATCH_SIZE_PER_GPU` crops a pass (the input size is the trained model's).
 */
export function deviceMemoryAdvice(config: Config, phase: 'train' | 'test'): string {
  if (phase === 'test') return `lower TEST.BATCH_SIZE_PER_GPU (now ${config.TEST.BATCH_SIZE_PER_GPU}), in the config or with --set`;
  const [w, h] = config.MODEL.IMAGE_SIZE;
  return `lower TRAIN.BATCH_SIZE_PER_GPU (now ${config.TRAIN.BATCH_SIZE_PER_GPU}) or MODEL.IMAGE_SIZE (now [${w}, ${h}]), in the config or with --set`;
}
