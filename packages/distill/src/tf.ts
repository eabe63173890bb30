/**
 * The tfjs this package trains with: tfjs-core, every gradient, and the CPU backend, bundled
 * into @edgeml/distill at build time (see tsup.config.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-backend-cpu';

// Production mode: no per-op NaN debugging, and no "install tfjs-node" banner on first use.
tf.env().set('PROD', true);

let ready: Promise<void> | undefined;

/** Select the CPU backend once (tfjs's own registry; idempotent). */
export function tfReady(): Promise<void> {
  ready ??= tf.setBackend('cpu').then(() => tf.ready());
  return ready;
}

export { tf };
