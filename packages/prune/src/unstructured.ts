import { InvalidArgumentError, Tensor, eliminateDeadCode, type Model, type Node } from '@edgeml/core';

/** Which weights to sparsify: Conv, Gemm and MatMul weights by default; exclusions by node name. */
export interface SparsityOptions {
  opTypes?: string[];
  exclude?: string[];
}

export interface MagnitudeOptions extends SparsityOptions {
  /** Share of weights set to zero, in [0, 1). */
  ratio: number;
  /** 'layer': each weight loses `ratio` of its entries; 'global': one magnitude threshold for all. */
  scope?: 'layer' | 'global';
}

/** Zeros per weight after pruning. */
export interface LayerSparsity {
  node: string;
  weight: string;
  /** Share of zeros, 0–1. */
  sparsity: number;
  size: number;
}

export interface SparsityResult {
  model: Model;
  layers: LayerSparsity[];
  /** Zeros over all pruned weights. */
  sparsity: number;
}

const DEFAULT_OPS = ['Conv', 'Gemm', 'MatMul'];

function targets(model: Model, o: SparsityOptions): { node: Node; tensor: Tensor }[] {
  const ops = new Set(o.opTypes ?? DEFAULT_OPS);
  // Weights inside If/Loop bodies are weights too (spox and PyTorch exports put whole networks there).
  const nodes = [...model.graphs()].flatMap((g) => [...g]);
  const known = new Set(nodes.map((n) => n.name));
  for (const n of o.exclude ?? [])
    if (!known.has(n)) throw new InvalidArgumentError(`the model has no node '${n}'`, 'exclude');
  const out = nodes
    .filter((n) => ops.has(n.opType) && n.inputs[1]?.const?.dtype === 'float32' && !o.exclude?.includes(n.name))
    .map((node) => ({ node, tensor: node.inputs[1]!.const! }));
  if (!out.length)
    throw new InvalidArgumentError(
      `the model has no ${[...ops].join('/')} node with constant float32 weights to prune`,
      'model',
    );
  return out;
}

function rewrite(node: Node, values: Float32Array, dims: readonly number[]): LayerSparsity {
  const v = node.inputs[1]!;
  const graph = node.graph!;
  node.setInput(1, graph.addInitializer(graph.uniqueName(`${v.name}_sparse`), Tensor.from('float32', dims, values)));
  let zeros = 0;
  for (const x of values) if (x === 0) zeros++;
  return { node: node.name, weight: v.name, sparsity: zeros / values.length, size: values.length };
}

const summary = (layers: LayerSparsity[]) =>
  layers.reduce((a, l) => a + l.sparsity * l.size, 0) /
  Math.max(
    1,
    layers.reduce((a, l) => a + l.size, 0),
  );

/** Option checks of {@link pruneMagnitude}: ratio and scope. */
export function validateMagnitudeOptions(options: MagnitudeOptions): void {
  if (!(options.ratio >= 0 && options.ratio < 1))
    throw new InvalidArgumentError(`ratio must be in [0, 1), got ${options.ratio}`, 'ratio');
  if (options.scope !== undefined && options.scope !== 'layer' && options.scope !== 'global')
    throw new InvalidArgumentError(`scope must be layer or global, got '${options.scope as string}'`, 'scope');
}

/**
 * Unstructured magnitude pruning: the smallest |w| become exactly zero, per layer or under
 * one global threshold. Dense runtimes run it no faster; it compresses better (see core's `compressedSize`)
 * and is the starting point for sparse kernels. The input model is not modified.
 *
 * @example
 * ```ts
 * const { model: sparse, sparsity } = pruneMagnitude(model, { ratio: 0.8, scope: 'global' });
 * ```
 */
export function pruneMagnitude(model: Model, options: MagnitudeOptions): SparsityResult {
  validateMagnitudeOptions(options);
  const { ratio, scope = 'layer' } = options;
  const work = model.clone();
  const list = targets(work, options);
  let globalThreshold = 0;
  if (scope === 'global') {
    const all = Float32Array.from(
      list.flatMap(({ tensor }) => Array.from(tensor.data as Float32Array, Math.abs)),
    ).sort();
    globalThreshold = all[Math.min(all.length - 1, Math.floor(all.length * ratio))];
  }
  const layers = list.map(({ node, tensor }) => {
    const src = tensor.data as Float32Array;
    const values = src.slice();
    if (scope === 'global') {
      for (let i = 0; i < values.length; i++) if (Math.abs(values[i]) < globalThreshold) values[i] = 0;
    } else {
      // The k smallest by magnitude (ties broken by position, so exactly k go).
      const order = Array.from(src.keys()).sort((a, b) => Math.abs(src[a]) - Math.abs(src[b]) || a - b);
      for (const i of order.slice(0, Math.floor(values.length * ratio))) values[i] = 0;
    }
    return rewrite(node, values, tensor.dims);
  });
  eliminateDeadCode(work.graph);
  return { model: work, layers, sparsity: summary(layers) };
}

/** Option checks of {@link pruneNM}: integers 0 < N < M. */
export function validateNMOptions(options: NMOptions): void {
  const n = options.n ?? 2,
    m = options.m ?? 4;
  if (!Number.isInteger(n) || !Number.isInteger(m) || n < 1 || m <= n)
    throw new InvalidArgumentError(`N:M needs integers 0 < N < M, got ${n}:${m}`, 'nm');
}

/** N:M options: keep `n` of every `m` weights (default 2:4). */
export interface NMOptions extends SparsityOptions {
  n?: number;
  m?: number;
}

/**
 * N:M semi-structured sparsity (2:4 by default, what sparse tensor cores accelerate): in every
 * run of M consecutive weights along the reduction axis (a Conv's input channels × kernel, a
 * Gemm/MatMul's K), only the N largest by magnitude stay.
 */
export function pruneNM(model: Model, options: NMOptions = {}): SparsityResult {
  validateNMOptions(options);
  const n = options.n ?? 2,
    m = options.m ?? 4;
  const work = model.clone();
  const layers = targets(work, options).map(({ node, tensor }) => {
    const src = tensor.data as Float32Array;
    const values = src.slice();
    const dims = tensor.dims;
    // Rows of the reduction: Conv [M, C·k·k] rows; Gemm with transB [N, K] rows; otherwise [K, N] columns.
    const transB = node.opType === 'Gemm' && node.attr('transB', 'int', 0) === 1;
    const byColumns = (node.opType === 'Gemm' && !transB) || node.opType === 'MatMul';
    const rows = byColumns ? dims[1] : dims[0],
      len = byColumns ? dims[0] : tensor.size / dims[0];
    const at = (r: number, i: number) => (byColumns ? i * rows + r : r * len + i);
    for (let r = 0; r < rows; r++) {
      for (let g = 0; g + m <= len; g += m) {
        const idx = Array.from({ length: m }, (_, j) => at(r, g + j)).sort(
          (a, b) => Math.abs(src[a]) - Math.abs(src[b]) || a - b,
        );
        for (const i of idx.slice(0, m - n)) values[i] = 0;
      }
    }
    return rewrite(node, values, dims);
  });
  eliminateDeadCode(work.graph);
  return { model: work, layers, sparsity: summary(layers) };
}
