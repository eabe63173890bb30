import { InvalidArgumentError, Tensor } from '@edgeml/core';

/** A model's float weights by initializer name, as `TrainableModel.getWeights()` returns them. */
export type Weights = Record<string, Tensor>;

/** Every weight's values, in one order both sides agree on (sorted names), as float64. */
export function flattenWeights(weights: Weights): { names: string[]; values: Float64Array } {
  const names = Object.keys(weights).sort();
  const total = names.reduce((n, k) => n + weights[k].size, 0);
  const values = new Float64Array(total);
  let at = 0;
  for (const k of names) {
    values.set(weights[k].toFloat64(), at);
    at += weights[k].size;
  }
  return { names, values };
}

/** The inverse of {@link flattenWeights}: `values` cut into tensors shaped like `like`'s. */
export function unflattenWeights(values: ArrayLike<number>, like: Weights): Weights {
  const names = Object.keys(like).sort();
  const out: Weights = {};
  let at = 0;
  for (const k of names) {
    const size = like[k].size;
    out[k] = Tensor.from(
      'float32',
      [...like[k].dims],
      Float32Array.from({ length: size }, (_, i) => values[at + i]),
    );
    at += size;
  }
  if (at !== values.length)
    throw new InvalidArgumentError(`an update of ${values.length} values does not fit a model of ${at}`, 'update');
  return out;
}

/** Check that `b` holds exactly `a`'s weight names and shapes (an update for the same model). */
export function assertSameLayout(a: Weights, b: Weights, what: string): void {
  const names = Object.keys(a).sort();
  const other = Object.keys(b).sort();
  if (names.join('\n') !== other.join('\n'))
    throw new InvalidArgumentError(
      `${what} names weights [${other.slice(0, 4).join(', ')}${other.length > 4 ? ', …' : ''}], the model [${names.slice(0, 4).join(', ')}${names.length > 4 ? ', …' : ''}]`,
      what,
    );
  for (const k of names)
    if (a[k].dims.join() !== b[k].dims.join())
      throw new InvalidArgumentError(`${what}: weight '${k}' is [${b[k].dims}], the model's is [${a[k].dims}]`, k);
}

/** `a − b`, weight by weight. */
export function subtractWeights(a: Weights, b: Weights): Weights {
  const out: Weights = {};
  for (const [k, t] of Object.entries(a)) {
    const x = t.data as Float32Array,
      y = b[k].data as Float32Array;
    out[k] = Tensor.from(
      'float32',
      [...t.dims],
      Float32Array.from(x, (v, i) => v - y[i]),
    );
  }
  return out;
}

/** The Euclidean norm of all values together. */
export function l2Norm(values: ArrayLike<number>): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i] * values[i];
  return Math.sqrt(sum);
}
