import { TensorDataset } from '@edgeml/distill';
import type { Model } from '@edgeml/core';

/** Data for a model's inputs: a single unnamed-match input takes the data's only array, reshaped to its layout. */
export function forModel(data: TensorDataset, model: Model): TensorDataset {
  const inputs = model.graph.inputs.filter((v) => !model.graph.initializers.has(v.name));
  const named =
    inputs.length === 1 && !data.inputs[inputs[0].name]
      ? new TensorDataset({ [inputs[0].name]: Object.values(data.inputs)[0] }, data.labels)
      : data;
  return named.fitTo(Object.fromEntries(inputs.map((v) => [v.name, v.shape])));
}
