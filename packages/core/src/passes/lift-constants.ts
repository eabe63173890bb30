import { isDefaultDomain } from '../ops/op-schema.js';
import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import type { SparseTensor } from '../ir/attribute.js';
import { Value } from '../ir/value.js';
import { Tensor, shapeSize } from '../tensor/tensor.js';
import { dtypeInfo } from '../tensor/dtype.js';
import type { Pass } from './pass.js';

/** Sparse constants are densified only up to this many elements, so lifting never bloats a model. */
const MAX_DENSIFIED_ELEMENTS = 1 << 24;

/**
 * The tensor a `Constant` node produces, from whichever `value*` attribute it carries, or
 * undefined when the node is malformed (left for the runtime to report) or holds a sparse
 * tensor too large to densify.
 */
export function constantNodeValue(node: Node): Tensor | undefined {
  if (node.attributes.size !== 1) return undefined;
  const a = [...node.attributes.values()][0];
  switch (a.kind) {
    case 'tensor':
      return a.name === 'value' ? a.value.share() : undefined;
    case 'sparse_tensor':
      return a.name === 'sparse_value' ? densify(a.value) : undefined;
    case 'float':
      return Tensor.from('float32', [], [a.value]);
    case 'floats':
      return Tensor.from('float32', [a.value.length], a.value);
    case 'int':
      return Tensor.from('int64', [], [BigInt(a.value)]);
    case 'ints':
      return Tensor.from(
        'int64',
        [a.value.length],
        a.value.map((v) => BigInt(v)),
      );
    case 'string':
      return Tensor.from('string', [], [a.value]);
    case 'strings':
      return Tensor.from('string', [a.value.length], a.value);
    default:
      return undefined;
  }
}

/** A COO sparse tensor as a dense one (indices are [NNZ] linear or [NNZ, rank] coordinates). */
function densify(sparse: SparseTensor): Tensor | undefined {
  const { values, indices, dims } = sparse;
  const total = shapeSize(dims);
  if (total > MAX_DENSIFIED_ELEMENTS || values.dtype === 'string' || !dtypeInfo(values.dtype).array) return undefined;
  const dense = Tensor.from(values.dtype, dims, new (dtypeInfo(values.dtype).array!)(total));
  const idx = indices.toFloat64();
  const src = values.data as ArrayLike<number | bigint>;
  const out = dense.data as unknown as (number | bigint)[];
  const nnz = values.size;
  const rank = indices.dims.length === 2 ? indices.dims[1] : 1;
  const strides = dims.map((_, i) => shapeSize(dims.slice(i + 1)));
  for (let k = 0; k < nnz; k++) {
    let linear = 0;
    if (rank === 1 && indices.dims.length === 1) linear = idx[k];
    else for (let d = 0; d < rank; d++) linear += idx[k * rank + d] * strides[d];
    if (linear < 0 || linear >= total) return undefined;
    out[linear] = src[k];
  }
  return dense;
}

/**
 * Replace `Constant` nodes by initializers holding their value, in this graph and in every
 * subgraph (If/Loop/Scan bodies keep their own initializers, as ONNX allows). This is how
 * paddle2onnx, spox and some PyTorch exports store weights; lifted, they are seen as weights
 * by stats, quantization and pruning. A Constant whose output is a graph output stays a
 * node: an initializer cannot stand in for a graph output everywhere runtimes accept one.
 *
 * @returns the number of nodes lifted.
 */
export function liftConstants(graph: Graph): number {
  let lifted = 0;
  for (const node of [...graph]) {
    for (const sub of node.subgraphs()) lifted += liftConstants(sub);
    if (node.opType !== 'Constant' || !isDefaultDomain(node) || node.outputs.length !== 1) continue;
    const out = node.outputs[0];
    if (graph.outputs.includes(out)) continue;
    const tensor = constantNodeValue(node);
    if (!tensor) continue;
    replaceByInitializer(node, tensor);
    lifted++;
  }
  return lifted;
}

/**
 * Replace a one-output node by an initializer holding `tensor` under the output's name (its
 * readers, inside subgraphs too, read the initializer). @internal
 */
export function replaceByInitializer(node: Node, tensor: Tensor): void {
  const graph = node.graph!;
  const out = node.outputs[0];
  tensor.name = out.name;
  const init = new Value(out.name, { kind: 'tensor', dtype: tensor.dtype, shape: [...tensor.dims] }, tensor);
  init.docString = out.docString;
  out.replaceAllUsesWith(init);
  graph.remove(node);
  // Registered after the node is gone, so the initializer keeps the name of the value it replaces.
  init.graph = graph;
  graph.initializers.set(init.name, init);
}

/**
 * Constant lifting as a pass: every `Constant` node of the model becomes an initializer.
 *
 * @example
 * ```ts
 * const { model: lifted } = await new PassManager([constantLifting()]).run(model.clone());
 * ```
 */
export function constantLifting(): Pass {
  return {
    name: 'constant-lifting',
    inPlace: true,
    run: (model) => ({ model, modified: liftConstants(model.graph) > 0 }),
  };
}
