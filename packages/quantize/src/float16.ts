/**
 * float32 → float16 conversion of weights and compute. Ops on the block list (and inputs
 * that ONNX types as float32 whatever the data type, such as Resize's scales) stay float32
 * behind Casts; weights are clamped to the float16 range; with `keepIoTypes` the model's
 * inputs and outputs keep float32 and Casts sit at the borders.
 */
import {
  isDefaultDomain,
  opEntry,
  Node,
  Tensor,
  Value,
  eliminateDeadCode,
  inferShapes,
  float32ToFloat16Bits,
  type Graph,
  type Model,
  type OpName,
} from '@edgeml/core';
import { isExcluded, type Exclusion, type NodeOutcome } from './select.js';

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

function convertGraph(
  graph: Graph,
  isMain: boolean,
  block: Set<string>,
  options: Float16Options,
  result: Float16Result,
): void {
  const keepIo = isMain && (options.keepIoTypes ?? true);
  const kept = new Set<Node>();
  for (const n of graph) {
    const stays = block.has(n.opType) || isExcluded(n, options.exclude) || !isDefaultDomain(n);
    if (stays) {
      kept.add(n);
      result.kept.push({
        name: n.name,
        opType: n.opType,
        reason: block.has(n.opType)
          ? 'on the float16 block list'
          : n.domain && n.domain !== 'ai.onnx'
            ? `custom domain '${n.domain}'`
            : 'excluded by the caller',
      });
    }
  }
  // Which float32 initializers only feed float32-constrained inputs or kept nodes?
  const mustStay = (v: Value) =>
    v.uses().length > 0 &&
    v.uses().every((u) => kept.has(u.node) || opEntry(FLOAT32_INPUTS, u.node)?.includes(u.index));
  // Initializers listed as graph inputs too (IR < 4 style) are weights all the same: they convert.
  for (const [name, v] of graph.initializers) {
    if (!isF32(v) || mustStay(v)) continue;
    const { tensor, clamped } = toFp16(v.const!);
    if (clamped) result.clamped.push(name);
    v.const = tensor;
    retype(v, 'float16');
  }
  const cast = (anchor: Node, v: Value, to: 'float16' | 'float32', after = false): Value => {
    const out = new Value(graph.uniqueName(`${v.name}_${to === 'float16' ? 'fp16' : 'fp32'}`), {
      kind: 'tensor',
      dtype: to,
      shape: v.shape,
    });
    const node = new Node({
      opType: 'Cast',
      name: graph.uniqueName(`${v.name}_cast_${to}`),
      inputs: [v],
      outputs: [out],
      attributes: { to: to === 'float16' ? 10 : 1 },
    });
    if (after) graph.insertAfter(anchor, node);
    else graph.insertBefore(anchor, node);
    return out;
  };
  // Graph inputs: cast once to float16 for every reader when the model's interface stays float32.
  for (const input of graph.inputs) {
    if (!isF32(input) || graph.initializers.get(input.name) === input) continue;
    if (!keepIo) {
      retype(input, 'float16');
      continue;
    }
    const readers = input
      .uses()
      .filter((u) => !kept.has(u.node) && !opEntry(FLOAT32_INPUTS, u.node)?.includes(u.index));
    if (!readers.length) continue;
    // Readers inside subgraphs count through the node in this graph that holds them.
    const holders = new Set(readers.map((u) => holderIn(graph, u.node)));
    const first = graph.nodes.find((n) => holders.has(n))!;
    const half = cast(first, input, 'float16');
    for (const u of readers) u.node.setInput(u.index, half);
  }
  for (const n of graph.nodes) {
    if (kept.has(n)) {
      // Kept nodes read float32: cast float16 inputs back; their float32 outputs are cast for float16 readers below.
      n.inputs.forEach((v, i) => {
        if (v && v.dtype === 'float16') n.setInput(i, cast(n, v, 'float32'));
      });
      continue;
    }
    (opEntry(FLOAT32_INPUTS, n) ?? []).forEach((i) => {
      const v = n.inputs[i];
      if (v && v.dtype === 'float16') n.setInput(i, cast(n, v, 'float32'));
    });
    if (n.opType === 'Cast' && n.attr('to', 'int') === 1) n.setAttr('to', 'int', 10);
    for (const a of n.attributes.values()) {
      if (a.kind === 'tensor' && a.value.dtype === 'float32') n.setAttr(a.name, 'tensor', toFp16(a.value).tensor);
    }
    for (const o of n.outputs)
      if (o.dtype === 'float32' || (n.opType === 'Cast' && n.attr('to', 'int') === 10)) retype(o, 'float16');
    result.converted++;
  }
  // Float32 values from kept nodes that float16 nodes read: cast them.
  for (const n of kept) {
    for (const o of n.outputs) {
      if (!isF32(o)) continue;
      const readers = o.uses().filter((u) => !kept.has(u.node) && !opEntry(FLOAT32_INPUTS, u.node)?.includes(u.index));
      if (!readers.length) continue;
      const half = cast(n, o, 'float16', true);
      for (const u of readers) u.node.setInput(u.index, half);
    }
  }
  // Graph outputs: back to float32 when the interface is kept.
  graph.outputs.forEach((out, i) => {
    if (out.dtype !== 'float16') return;
    if (!keepIo) return;
    const producer = out.producer();
    if (!producer) return;
    const half = new Value(graph.uniqueName(`${out.name}_fp16`), {
      kind: 'tensor',
      dtype: 'float16',
      shape: out.shape,
    });
    producer.replaceOutput(producer.outputs.indexOf(out), half);
    for (const u of out.uses()) u.node.setInput(u.index, half);
    const node = new Node({
      opType: 'Cast',
      name: graph.uniqueName(`${out.name}_cast_float32`),
      inputs: [half],
      outputs: [],
      attributes: { to: 1 },
    });
    graph.insertAfter(producer, node);
    node.appendOutput(out);
    retype(out, 'float32');
    graph.outputs[i] = out;
  });
  eliminateDeadCode(graph);
}

/** The node of `graph` that is `node` or holds it in a subgraph (at any depth). */
function holderIn(graph: Graph, node: Node): Node | undefined {
  let n: Node | undefined = node;
  while (n && n.graph !== graph) n = n.graph?.parentNode;
  return n;
}
