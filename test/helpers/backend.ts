/**
 * Backend choice for the test suite: the fallback the project must train on.
 */
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/select';

/** Backend the suite runs on: env `HRNET_TEST_BACKEND`, default `wasm`. */
export const TEST_BACKEND = process.env.HRNET_TEST_BACKEND ?? 'wasm';

/** Selects the test backend quietly ; call it in `beforeAll`. */
export async function useTestBackend(): Promise<void> {
  // PROD silences tfjs's console hints; IS_TEST would also turn on tfjs's kernel self-checks,
  // which reject custom gradients that save intermediate tensors.
  tf.env().set('PROD', true);
  await initBackend({ preferred: TEST_BACKEND, quiet: true });
}
