import { InvalidArgumentError } from '../errors.js';
import type { Model } from '../ir/model.js';
import { Value } from '../ir/value.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Pass } from './pass.js';

/**
 * Give symbolic dimensions fixed sizes (as onnxruntime's make_dynamic_shape_fixed does),
 * in graph inputs and outputs. With static input shapes, shape inference and constant
 * folding can resolve the shape arithmetic that dynamic exports carry.
 *
 * @example
 * ```ts
 * fixDimensions(model, { batch: 1, sequence: 512 });
 * ```
 */
export function fixDimensions(model: Model, sizes: Record<string, number>): number {
  for (const [name, size] of Object.entries(sizes)) {
    if (!Number.isInteger(size) || size < 0)
      throw new InvalidArgumentError(`dimension '${name}' must be a non-negative integer, got ${size}`, name);
  }
  let changed = 0;
  const g = model.graph;
  for (const v of [...g.inputs, ...g.outputs]) {
    const t = v.type;
    if (!t || (t.kind !== 'tensor' && t.kind !== 'sparse_tensor') || !t.shape) continue;
    t.shape = t.shape.map((d) => {
      if (typeof d === 'string' && d in sizes) {
        changed++;
        return sizes[d];
      }
      return d;
    });
  }
  const unknown = Object.keys(sizes).filter(
    (n) =>
      ![...g.inputs, ...g.outputs].some(
        (v) => v.shape?.includes(n) || (v.type?.kind === 'tensor' && v.type.shape?.includes(sizes[n])),
      ),
  );
  if (changed === 0 && unknown.length)
    throw new InvalidArgumentError(
      `no graph input or output has a dimension named ${unknown.map((u) => `'${u}'`).join(', ')}`,
      unknown[0],
    );
  return changed;
}

export function fixDimensionsPass(sizes: Record<string, number>): Pass {
  return {
    name: 'fix-dimensions',
    inPlace: true,
    run: (model) => ({ model, modified: fixDimensions(model, sizes) > 0 }),
  };
}

/**
 * Turn graph inputs into constants (a model specialised for, say, one sample rate). Constant
 * folding can then resolve what depended on them, including If branches it inlines.
 *
 * @example
 * ```ts
 * freezeInputs(model, { sr: Tensor.from('int64', [], [16000n]) });
 * ```
 */
export function freezeInputs(model: Model, values: Record<string, Tensor>): number {
  const g = model.graph;
  let frozen = 0;
  for (const [name, tensor] of Object.entries(values)) {
    const input = g.inputs.find((v) => v.name === name);
    if (!input)
      throw new InvalidArgumentError(
        `the model has no input '${name}' (inputs: ${g.inputs.map((v) => v.name).join(', ')})`,
        name,
      );
    if (input.dtype && input.dtype !== tensor.dtype)
      throw new InvalidArgumentError(`input '${name}' is ${input.dtype}; the frozen value is ${tensor.dtype}`, name);
    const c = new Value(name, { kind: 'tensor', dtype: tensor.dtype, shape: [...tensor.dims] }, tensor);
    tensor.name = name;
    g.inputs.splice(g.inputs.indexOf(input), 1);
    if (g.initializers.get(name) === input) g.initializers.delete(name);
    input.replaceAllUsesWith(c);
    c.graph = g;
    g.initializers.set(name, c);
    frozen++;
  }
  return frozen;
}

/**
 * Give graph inputs concrete shapes (`{ x: [1, 3, 640, 640] }`): each symbolic dimension an
 * input names takes its size everywhere it appears (inputs and outputs, as
 * {@link fixDimensions}), and unnamed dynamic dimensions take the given size. Fixed sizes that
 * disagree, a wrong rank or an unknown input name are an InvalidArgumentError naming the input.
 *
 * @example
 * ```ts
 * fixInputShapes(model, { x: [1, 3, 640, 640] }); // 'batch', 'height', 'width' become 1, 640, 640
 * ```
 */
export function fixInputShapes(model: Model, shapes: Record<string, readonly number[]>): number {
  const g = model.graph;
  const symbols: Record<string, number> = {};
  let changed = 0;
  for (const [name, dims] of Object.entries(shapes)) {
    const input = g.inputs.find((v) => v.name === name && !g.initializers.has(name));
    const where = `shape of input '${name}'`;
    if (!input)
      throw new InvalidArgumentError(
        `the model has no input '${name}' (its inputs: ${g.inputs.map((v) => v.name).join(', ')})`,
        name,
      );
    const t = input.type;
    if (!t || t.kind !== 'tensor')
      throw new InvalidArgumentError(`input '${name}' is not a tensor, it has no shape to fix`, name);
    if (!t.shape) t.shape = dims.map(() => null);
    if (t.shape.length !== dims.length || dims.some((d) => !Number.isInteger(d) || d < 0))
      throw new InvalidArgumentError(`${where}: the model has rank ${t.shape.length}, got [${dims.join(', ')}]`, name);
    t.shape = t.shape.map((d, i) => {
      if (typeof d === 'number') {
        if (d !== dims[i])
          throw new InvalidArgumentError(
            `${where}: dimension ${i} is fixed at ${d} by the model, got ${dims[i]}`,
            name,
          );
        return d;
      }
      if (typeof d === 'string') {
        if (d in symbols && symbols[d] !== dims[i])
          throw new InvalidArgumentError(`${where}: dimension '${d}' was already given size ${symbols[d]}`, name);
        symbols[d] = dims[i];
      }
      changed++;
      return dims[i];
    });
  }
  if (Object.keys(symbols).length) fixDimensions(model, symbols);
  return changed;
}
