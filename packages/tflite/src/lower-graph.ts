/**
 * Lowering one ONNX graph (the main graph, or an If branch) into the TFLite subgraph of an
 * {@link ExportContext}: each node by its rule in LOWERINGS, in topological order, and the
 * graph's outputs given tensors of their own.
 */
import { UnsupportedOpError, isDefaultDomain, type Graph, type Value } from '@edgeml/core';
import type { ExportContext } from './context.js';
import type { Perm } from './layout.js';
import { LOWERINGS } from './lower/index.js';

/** Lower every node of `graph` into `ctx`; `opsetOf` names a domain's opset in errors. */
export function lowerNodes(graph: Graph, ctx: ExportContext, opsetOf: (domain: string) => number | undefined): void {
  for (const node of graph.topologicalOrder()) {
    if (ctx.consumed.has(node)) continue;
    const lowering = isDefaultDomain(node) ? LOWERINGS[node.opType] : undefined;
    if (!lowering)
      throw new UnsupportedOpError(
        node.opType,
        node.domain,
        opsetOf(node.domain),
        `node '${node.name || node.opType}' (${node.domain ? `${node.domain}.` : ''}${node.opType}) has no TFLite builtin equivalent in this exporter (the guide's "Export to TFLite" lists the ${Object.keys(LOWERINGS).length} ops it writes)`,
        node.name,
      );
    const [before, fused] = [ctx.graph.operators.length, new Set(ctx.consumed)];
    lowering(node, ctx);
    // The values of the node and of those it fused (an activation after a Conv) are the ONNX model's.
    const nodes = [node, ...[...ctx.consumed].filter((n) => !fused.has(n))];
    const origin = {
      opType: node.opType,
      name: node.name || node.outputs[0]?.name || node.opType,
      values: new Set(nodes.flatMap((n) => [...n.inputs, ...n.outputs].flatMap((v) => (v ? [v.name] : [])))),
    };
    for (const op of ctx.graph.operators.slice(before)) ctx.graph.origins.set(op, origin);
    node.outputs.forEach((out, i) => {
      if (!ctx.isPlaced(out) && (out.uses().some((u) => !ctx.consumed.has(u.node)) || ctx.isGraphOutput(out)))
        throw new UnsupportedOpError(
          node.opType,
          node.domain,
          opsetOf(node.domain),
          `node '${node.name || node.opType}' (${node.opType}): its output ${i} '${out.name}' is used, and TFLite's op does not compute it`,
          node.name,
        );
    });
  }
}

/**
 * `index` itself, or a RESHAPE copy of it (to `shape`, default its own) when it is an input of
 * the subgraph (in `taken`), a constant, already used, or of another shape: TFLite subgraph
 * outputs must be distinct computed tensors. The tensor returned is added to `taken`.
 */
export function distinctTensor(
  ctx: ExportContext,
  index: number,
  name: string,
  taken: Set<number>,
  shape: readonly number[] = ctx.graph.tensors[index].shape,
): number {
  const own = ctx.graph.tensors[index];
  let out = index;
  if (taken.has(index) || ctx.graph.isConstant(index) || own.shape.join() !== shape.join()) {
    out = ctx.graph.addTensor(name, shape, own.type);
    ctx.reshape(index, out, shape);
  }
  taken.add(out);
  return out;
}

/**
 * The tensors of a graph's outputs, each in layout `permOf(v)` and named as the ONNX output
 * (copied by {@link distinctTensor} where they must be).
 */
export function outputTensors(
  ctx: ExportContext,
  outputs: readonly Value[],
  taken: Set<number>,
  permOf: (v: Value) => Perm,
): number[] {
  return outputs.map((v) => {
    const index = distinctTensor(ctx, ctx.tensor(v, permOf(v)), v.name, taken);
    ctx.graph.swapName(index, v.name);
    return index;
  });
}
