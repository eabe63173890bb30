import type { Model } from './model.js';
import type { Tensor } from '../tensor/tensor.js';

/** Every tensor of a model: initializers and tensor attributes, in all graphs. */
export function* modelTensors(model: Model): IterableIterator<Tensor> {
  for (const g of model.graphs()) {
    for (const v of g.initializers.values()) yield v.const!;
    for (const s of g.sparseInitializers) yield s.tensor.values;
    for (const n of g) {
      for (const a of n.attributes.values()) {
        if (a.kind === 'tensor' && a.value) yield a.value;
        else if (a.kind === 'tensors' && a.value) yield* a.value;
      }
    }
  }
}

/**
 * Bytes the model's tensors hold (initializers, sparse values, tensor attributes, in every
 * graph), without loading external data: a lower bound on the encoded size, known before
 * encoding.
 */
export function modelByteEstimate(model: Model): number {
  let total = 0;
  for (const t of modelTensors(model)) total += t.byteLength;
  return total;
}
