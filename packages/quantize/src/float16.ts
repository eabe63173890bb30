/**
 * float32 → float16 conversion of weights and compute. Ops on the block list (and inputs
 * that ONNX types as float32 whatever the data type, such as Resize's scales) stay float32
 * behind Casts; weights are clamped to the float16 range; with `keepIoTypes` the model's
 * inputs and outputs keep float32 and Casts sit at the borders.
 */
import {
  GraphBuilder,
  insertOnEdge,
  isDefaultDomain,
  opEntry,
  Tensor,
  type Node,
  type Use,
  type Value,
  eliminateDeadCode,
  inferShapes,
  float32ToFloat16Bits,
  type Backend,
  type Graph,
  type Model,
  type OpName,
} from '@edgeml/core';
import { isExcluded, type Exclusion, type NodeOutcome } from './select.js';
import { calibrate, type CalibrationData, type TensorRange } from './calibrate.js';

/** Ops left in float32 by default: no float16 kernels in common runtimes, or numerically fragile (as onnxconverter-common lists them). */
/** Names across domains (ai.onnx and ai.onnx.ml), so plain strings. */
export const DEFAULT_FP16_BLOCK_LIST: readonly string[] = [
  'ArrayFeatureExtractor',
  'Binarizer',
  'CastMap',
  'CategoryMapper',
  'DictVectorizer',
  'FeatureVectorizer',
  'Imputer',
  'LabelEncoder',
  'LinearClassifier',
  'LinearRegressor',
  'Normalizer',
  'OneHotEncoder',
  'RandomUniformLike',
  'SVMClassifier',
  'SVMRegressor',
  'Scaler',
  'TreeEnsembleClassifier',
  'TreeEnsembleRegressor',
  'ZipMap',
  'NonMaxSuppression',
  'TopK',
  'RoiAlign',
  'Range',
  'CumSum',
  'Min',
  'Max',
  'Upsample',
];

/** Inputs that stay float32 in a float16 model (ONNX constrains them apart from the data type). */
const FLOAT32_INPUTS: Partial<Record<OpName, number[]>> = { Resize: [2], Upsample: [1] };

export interface Float16Options {
  /** Keep float32 model inputs and outputs, with Casts at the borders (default true). */
  keepIoTypes?: boolean;
  /** Op types to keep in float32 (default DEFAULT_FP16_BLOCK_LIST); add to it with `[...DEFAULT_FP16_BLOCK_LIST, 'X']`. */
  blockList?: readonly string[];
  exclude?: Exclusion;
  /**
   * Activation ranges measured on real samples (see `float16Ranges`): a node that reads or
   * writes a value past float16's ±65504 stays float32. Without them the conversion cannot know,
   * and a model fed large values (e.g. int16-scale audio) can overflow to inf and NaN.
   */
  ranges?: ReadonlyMap<string, TensorRange>;
}

export interface Float16Result {
  converted: number;
  kept: NodeOutcome[];
  /** Weights whose values exceeded ±65504 and were clamped. */
  clamped: string[];
}

const FP16_MAX = 65504;

function toFp16(t: Tensor): { tensor: Tensor; clamped: boolean } {
  const src = t.data as Float32Array;
  const out = new Uint16Array(src.length);
  let clamped = false;
  for (let i = 0; i < src.length; i++) {
    let v = src[i];
    if (v > FP16_MAX) {
      v = FP16_MAX;
      clamped = true;
    } else if (v < -FP16_MAX) {
      v = -FP16_MAX;
      clamped = true;
    }
    out[i] = float32ToFloat16Bits(v);
  }
  const tensor = Tensor.from('float16', t.dims, out);
  tensor.name = t.name;
  return { tensor, clamped };
}

const isF32 = (v: Value | undefined) => !!v && v.dtype === 'float32';
const retype = (v: Value, dtype: 'float16' | 'float32') => {
  if (v.type?.kind === 'tensor') v.type = { ...v.type, dtype };
};

/**
 * Convert a model to float16 in place.
 *
 * @example
 * ```ts
 * const { converted, kept } = convertToFloat16(model, { keepIoTypes: true });
 * ```
 */
export function convertToFloat16(model: Model, options: Float16Options = {}): Float16Result {
  const block = new Set(options.blockList ?? DEFAULT_FP16_BLOCK_LIST);
  const result: Float16Result = { converted: 0, kept: [], clamped: [] };
  // Known element types decide which values change; values left untyped stay untyped.
  inferShapes(model, { strict: false });
  const graphs = [...model.graphs()];
  for (const graph of graphs) convertGraph(graph, graph === model.graph, block, options, result);
  return result;
}

/** What one graph's conversion works with: the nodes kept in float32, and where outcomes go. */
interface Fp16Context {
  graph: Graph;
  kept: Set<Node>;
  result: Float16Result;
}

/** A reader that must see float16: not a kept node, not a float32-only input. */
const readsHalf = (ctx: Fp16Context) => (u: Use) =>
  !ctx.kept.has(u.node) && !opEntry(FLOAT32_INPUTS, u.node)?.includes(u.index);

/** A Cast of `v` to `to`, placed before `anchor` (or after it); returns the cast value. */
function castValue(ctx: Fp16Context, anchor: Node, v: Value, to: 'float16' | 'float32', after = false): Value {
  const b = new GraphBuilder(ctx.graph, `${v.name}_cast_${to}`);
  const [out] = b.op('Cast', [v], { to: to === 'float16' ? 10 : 1 }, [
    `${v.name}_${to === 'float16' ? 'fp16' : 'fp32'}`,
  ]);
  out.type = { kind: 'tensor', dtype: to, shape: v.shape };
  if (after) ctx.graph.insertAfter(anchor, b.nodes[0]);
  else b.insertBefore(anchor);
  return out;
}

/** Why `n` stays float32, or undefined when it converts. */
function keepReason(n: Node, block: Set<string>, options: Float16Options): string | undefined {
  if (block.has(n.opType)) return 'on the float16 block list';
  if (!isDefaultDomain(n)) return `custom domain '${n.domain}'`;
  if (isExcluded(n, options.exclude)) return 'excluded by the caller';
  // A value past float16's range is inf in float16, and inf - inf is NaN further on.
  for (const v of [...n.inputs, ...n.outputs]) {
    const r = v && options.ranges?.get(v.name);
    if (r && Math.max(Math.abs(r.min), Math.abs(r.max)) > FP16_MAX)
      return `'${v.name}' reaches ${Math.max(Math.abs(r.min), Math.abs(r.max)).toPrecision(3)} on the samples, past float16's ±65504`;
  }
  return undefined;
}

function keptNodes(graph: Graph, block: Set<string>, options: Float16Options, result: Float16Result): Set<Node> {
  const kept = new Set<Node>();
  for (const n of graph) {
    const reason = keepReason(n, block, options);
    if (!reason) continue;
    kept.add(n);
    result.kept.push({ name: n.name, opType: n.opType, reason });
  }
  return kept;
}

/** Float32 weights become float16, except those only float32-constrained inputs or kept nodes read. */
function convertInitializers(ctx: Fp16Context): void {
  const mustStay = (v: Value) => v.uses().length > 0 && !v.uses().some(readsHalf(ctx));
  // Initializers listed as graph inputs too (IR < 4 style) are weights all the same: they convert.
  for (const [name, v] of ctx.graph.initializers) {
    if (!isF32(v) || mustStay(v)) continue;
    const { tensor, clamped } = toFp16(v.const!);
    if (clamped) ctx.result.clamped.push(name);
    v.const = tensor;
    retype(v, 'float16');
  }
}

/** Graph inputs: cast once to float16 for every reader when the interface stays float32. */
function convertInputs(ctx: Fp16Context, keepIo: boolean): void {
  const { graph } = ctx;
  for (const input of graph.inputs) {
    if (!isF32(input) || graph.initializers.get(input.name) === input) continue;
    if (!keepIo) {
      retype(input, 'float16');
      continue;
    }
    const readers = input.uses().filter(readsHalf(ctx));
    if (!readers.length) continue;
    // Readers inside subgraphs count through the node in this graph that holds them.
    const holders = new Set(readers.map((u) => holderIn(graph, u.node)));
    const half = castValue(
      ctx,
      graph.nodes.find((n) => holders.has(n))!,
      input,
      'float16',
    );
    for (const u of readers) u.node.setInput(u.index, half);
  }
}

/** Nodes compute in float16; kept nodes read float32, their float32 outputs cast for float16 readers. */
function convertNodes(ctx: Fp16Context): void {
  for (const n of ctx.graph.nodes) {
    const float32Inputs = ctx.kept.has(n) ? n.inputs.map((_, i) => i) : (opEntry(FLOAT32_INPUTS, n) ?? []);
    for (const i of float32Inputs) {
      const v = n.inputs[i];
      if (v && v.dtype === 'float16') n.setInput(i, castValue(ctx, n, v, 'float32'));
    }
    if (ctx.kept.has(n)) continue;
    if (n.opType === 'Cast' && n.attr('to', 'int') === 1) n.setAttr('to', 'int', 10);
    for (const a of n.attributes.values())
      if (a.kind === 'tensor' && a.value.dtype === 'float32') n.setAttr(a.name, 'tensor', toFp16(a.value).tensor);
    for (const o of n.outputs)
      if (o.dtype === 'float32' || (n.opType === 'Cast' && n.attr('to', 'int') === 10)) retype(o, 'float16');
    ctx.result.converted++;
  }
  for (const n of ctx.kept)
    for (const o of n.outputs) {
      if (!isF32(o)) continue;
      const readers = o.uses().filter(readsHalf(ctx));
      if (!readers.length) continue;
      const half = castValue(ctx, n, o, 'float16', true);
      for (const u of readers) u.node.setInput(u.index, half);
    }
}

/** Graph outputs back to float32 when the interface is kept: a Cast takes over the output's name. */
function convertOutputs(ctx: Fp16Context): void {
  for (const out of [...ctx.graph.outputs]) {
    if (out.dtype !== 'float16' || !out.producer()) continue;
    const b = new GraphBuilder(ctx.graph, `${out.name}_cast_float32`);
    const [full] = b.op('Cast', [out], { to: 1 }, [`${out.name}_float32`]);
    full.type = { kind: 'tensor', dtype: 'float32', shape: out.shape };
    // Readers inside the graph keep the float16 value; only the graph output slot moves.
    insertOnEdge(out, b.nodes, { uses: [] });
  }
}

function convertGraph(
  graph: Graph,
  isMain: boolean,
  block: Set<string>,
  options: Float16Options,
  result: Float16Result,
): void {
  const keepIo = isMain && (options.keepIoTypes ?? true);
  const ctx: Fp16Context = { graph, kept: keptNodes(graph, block, options, result), result };
  convertInitializers(ctx);
  convertInputs(ctx, keepIo);
  convertNodes(ctx);
  if (keepIo) convertOutputs(ctx);
  eliminateDeadCode(graph);
}

/** The node of `graph` that is `node` or holds it in a subgraph (at any depth). */
function holderIn(graph: Graph, node: Node): Node | undefined {
  let n: Node | undefined = node;
  while (n && n.graph !== graph) n = n.graph?.parentNode;
  return n;
}

/**
 * Range of every float32 activation of the main graph on `samples`, for
 * `Float16Options.ranges`: what decides which layers would overflow in float16.
 *
 * @example
 * ```ts
 * const ranges = await float16Ranges(model, samples, new NodeBackend());
 * convertToFloat16(model, { ranges });
 * ```
 */
export async function float16Ranges(
  model: Model,
  samples: CalibrationData,
  backend: Backend,
): Promise<Map<string, TensorRange>> {
  inferShapes(model, { strict: false });
  const outputs = new Set(model.graph.outputs);
  const names = [...model.graph]
    .flatMap((n) => n.outputs)
    .filter((v) => v.name && !outputs.has(v) && v.type?.kind === 'tensor' && v.type.dtype === 'float32')
    .map((v) => v.name);
  return calibrate(model, samples, backend, [...names, ...model.graph.outputs.map((v) => v.name)]);
}
