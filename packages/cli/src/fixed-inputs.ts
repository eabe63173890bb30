/** `--fix name=value`: inputs fixed to a constant, typed and shaped as the model declares them. */
import { Tensor, freezeInputs, type Model } from '@edgeml/core';
import { UsageError } from './cli-error.js';
import { pairsOption } from './options.js';
import type { CommandContext } from './command.js';

/** The `--fix` values as tensors of each input's dtype and (static) shape; undefined without any. */
export function fixedInputs(
  values: CommandContext['values'],
  model: Model,
  command: string,
): Record<string, Tensor> | undefined {
  const pairs = pairsOption(values, 'fix', command);
  if (!pairs.length) return undefined;
  const g = model.graph;
  return Object.fromEntries(
    pairs.map(([name, raw]) => {
      const input = g.inputs.find((v) => v.name === name && !g.initializers.has(name));
      if (!input)
        throw new UsageError(
          `--fix ${name}: the model has no input '${name}' (its inputs: ${g.inputs.map((v) => v.name).join(', ')})`,
          command,
        );
      const value = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(value))
        throw new UsageError(`--fix ${name} takes a number, e.g. --fix sr=16000; got '${raw}'`, command);
      const dims = input.shape ?? [];
      if (dims.some((d) => typeof d !== 'number'))
        throw new UsageError(
          `--fix ${name}: input '${name}' has dynamic dimensions; only fixed-size inputs can be fixed`,
          command,
        );
      const size = (dims as number[]).reduce((a, b) => a * b, 1);
      return [name, Tensor.from(input.dtype ?? 'float32', dims as number[], new Array<number>(size).fill(value))];
    }),
  );
}

/** The model as samples must fit it once `fixed` inputs are constants (their files are not needed). */
export function withFixedInputs(model: Model, fixed: Record<string, Tensor> | undefined): Model {
  if (!fixed) return model;
  const view = model.clone();
  freezeInputs(view, fixed);
  return view;
}
