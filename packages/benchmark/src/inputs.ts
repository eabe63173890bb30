import {
  InvalidArgumentError,
  ShapeError,
  Tensor,
  seededRandom,
  toFloat16Array,
  toBfloat16Array,
  type DType,
  type ValueInfo,
} from '@edgeml/core';

/** How to build the inputs a benchmark feeds the model. */
export interface InputOptions {
  /** Concrete shapes for inputs with dynamic dimensions, e.g. `{ input: [1, 512] }`. */
  shapes?: Record<string, readonly number[]>;
  /** Real inputs (from `.npy` files, say); they win over generated ones. */
  values?: Record<string, Tensor>;
  /** Inputs filled with one constant, e.g. `{ sr: 16000 }` for a sample-rate scalar. */
  fills?: Record<string, number>;
  /** Seed of the random inputs; the same seed gives the same inputs (default 1). */
  seed?: number;
  /** Size given to dynamic dimensions nobody named (default 1, as onnxruntime_perf_test does). */
  defaultDimension?: number;
}

const INTEGER_TYPES = new Set<DType>(['int8', 'uint8', 'int16', 'uint16', 'int32', 'uint32', 'int64', 'uint64']);

function tensorOf(dtype: DType, dims: number[], next: () => number, name: string): Tensor {
  const n = dims.reduce((a, b) => a * b, 1);
  const values = Float64Array.from({ length: n }, next);
  switch (dtype) {
    case 'float32':
    case 'float64':
      return Tensor.from(dtype, dims, values);
    case 'float16':
      return Tensor.from(dtype, dims, toFloat16Array(values));
    case 'bfloat16':
      return Tensor.from(dtype, dims, toBfloat16Array(values));
    case 'bool':
      return Tensor.from(
        dtype,
        dims,
        Array.from(values, (v) => v >= 0.5),
      );
    default:
      if (INTEGER_TYPES.has(dtype)) return Tensor.from(dtype, dims, Array.from(values, Math.floor));
      throw new InvalidArgumentError(
        `cannot generate '${dtype}' data for input '${name}'; pass it as a .npy file`,
        name,
      );
  }
}

/**
 * Floats in [0, 1) (the range of normalised images and audio), booleans half true, and
 * integers in 0–9 (valid token ids and indices for nearly any vocabulary).
 */
function randomTensor(dtype: DType, dims: number[], rand: () => number, name: string): Tensor {
  return tensorOf(dtype, dims, INTEGER_TYPES.has(dtype) ? () => rand() * 10 : rand, name);
}

function describe(shape: readonly (number | string | null)[]): string {
  return `[${shape.map((d) => (d === null ? '?' : d)).join(', ')}]`;
}

/**
 * One feed per model input: user values first, then fills, then seeded random data. Dynamic
 * dimensions take the user's shape; a symbolic dimension the user fixed on one input (e.g.
 * `batch`) takes the same size on every input that names it. Shapes that cannot fit the
 * model's declared ones are refused before anything runs.
 */
export function makeFeeds(inputs: readonly ValueInfo[], options: InputOptions = {}): Record<string, Tensor> {
  const known = new Set(inputs.map((i) => i.name));
  for (const group of ['shapes', 'values', 'fills'] as const) {
    for (const name of Object.keys(options[group] ?? {})) {
      if (!known.has(name))
        throw new InvalidArgumentError(
          `the model has no input '${name}' (${group}); its inputs are ${[...known].join(', ')}`,
          name,
        );
    }
  }
  const symbols = new Map<string, number>();
  const declared = (info: ValueInfo) => (info.type?.kind === 'tensor' ? info.type.shape : undefined);
  const check = (info: ValueInfo, dims: readonly number[], what: string) => {
    const shape = declared(info);
    if (!shape) return;
    const bad = dims.length !== shape.length || shape.some((d, i) => typeof d === 'number' && d !== dims[i]);
    if (bad)
      throw new ShapeError(
        `${what} [${dims.join('x')}] for input '${info.name}' does not fit the model's shape ${describe(shape)}`,
      );
    shape.forEach((d, i) => {
      if (typeof d !== 'string') return;
      const seen = symbols.get(d);
      if (seen !== undefined && seen !== dims[i])
        throw new ShapeError(
          `input '${info.name}' gives dimension '${d}' size ${dims[i]}, but another input already gave it ${seen}`,
        );
      symbols.set(d, dims[i]);
    });
  };
  // Bind symbols from everything the user fixed before filling in the rest.
  for (const info of inputs) {
    const v = options.values?.[info.name];
    if (v) check(info, v.dims, 'the data of shape');
    const s = options.shapes?.[info.name];
    if (s) {
      if (s.some((d) => !Number.isInteger(d) || d < 0))
        throw new InvalidArgumentError(
          `shape for input '${info.name}' must be non-negative integers, got [${s.join('x')}]`,
          info.name,
        );
      check(info, s, 'the shape');
    }
  }
  const rand = seededRandom(options.seed ?? 1);
  const feeds: Record<string, Tensor> = {};
  for (const info of inputs) {
    if (options.values?.[info.name]) {
      feeds[info.name] = options.values[info.name];
      continue;
    }
    if (info.type && info.type.kind !== 'tensor')
      throw new InvalidArgumentError(`input '${info.name}' is not a tensor; pass its value explicitly`, info.name);
    const shape = declared(info);
    const dtype = info.type?.dtype;
    if (!shape || !dtype)
      throw new InvalidArgumentError(
        `the runtime does not report the type of input '${info.name}'; pass its value explicitly`,
        info.name,
      );
    const dims = options.shapes?.[info.name]
      ? [...options.shapes[info.name]]
      : shape.map((d) =>
          typeof d === 'number' ? d : (typeof d === 'string' && symbols.get(d)) || options.defaultDimension || 1,
        );
    const fill = options.fills?.[info.name];
    feeds[info.name] =
      fill === undefined ? randomTensor(dtype, dims, rand, info.name) : tensorOf(dtype, dims, () => fill, info.name);
  }
  return feeds;
}

/**
 * Inputs whose dynamic dimensions nobody sized (they ran at `defaultDimension`), described as
 * `name[dim, …]`: the first thing to suspect when a model fails on generated inputs.
 */
export function unsizedInputs(inputs: readonly ValueInfo[], options: InputOptions = {}): string[] {
  const sized = new Set<string>();
  for (const info of inputs) {
    if (!options.values?.[info.name] && !options.shapes?.[info.name]) continue;
    const shape = (info.type?.kind === 'tensor' ? info.type.shape : undefined) ?? [];
    for (const d of shape) if (typeof d === 'string') sized.add(d);
  }
  return inputs
    .filter(
      (i) =>
        !options.values?.[i.name] &&
        !options.shapes?.[i.name] &&
        options.fills?.[i.name] === undefined &&
        i.type?.kind === 'tensor' &&
        (i.type.shape ?? []).some((d) => typeof d !== 'number' && !(typeof d === 'string' && sized.has(d))),
    )
    .map(
      (i) =>
        `${i.name}[${(i.type as { shape: readonly (number | string | null)[] }).shape.map((d) => d ?? '?').join(', ')}]`,
    );
}
