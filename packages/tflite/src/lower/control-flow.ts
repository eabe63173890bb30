/**
 * ONNX If → TFLite IF: each branch becomes a subgraph of the file, and since TFLite subgraphs
 * cannot read their parent's tensors, every value a branch reads from an outer scope (at any
 * depth of nested Ifs) is passed as an input of the IF, after the condition, and is an input of
 * both branch subgraphs in the same order (TFLite's IF requires the branches to take the op's
 * inputs after the condition). Constants are not passed: each branch holds its own, sharing the
 * file's buffers. Values cross the boundary in the ONNX layout.
 */
import { capturedInputs, constantNodeValue, type Graph, type Node, type Value } from '@edgeml/core';
import { ExportContext } from '../context.js';
import { identityPerm } from '../layout.js';
import { lowerNodes, outputTensors } from '../lower-graph.js';

/** Non-constant values the subgraphs of `node` read from outside them, in first-use order. */
export function outerValues(node: Node): Value[] {
  const seen = new Set<Value>();
  const ownInputs = new Set(node.inputs);
  for (const v of capturedInputs(node)) if (!ownInputs.has(v) && !v.const) seen.add(v);
  return [...seen];
}

/** The ONNX layout of `v` (values cross subgraph boundaries in it). */
const onnxLayout = (ctx: ExportContext) => (v: Value) => identityPerm(ctx.rank(v));

function lowerBranch(node: Node, which: 'then_branch' | 'else_branch', outer: Value[], ctx: ExportContext): number {
  const branch: Graph | undefined = node.attr(which, 'graph');
  if (!branch) ctx.unsupported(node, `it has no ${which}`);
  const { graph, index } = ctx.graph.subgraph(`${node.name || 'If'}/${which}`);
  const inner = new ExportContext(ctx.opset, branch.outputs, graph);
  graph.io.inputs = outer.map((v) => inner.define(v));
  lowerNodes(branch, inner, () => ctx.opset);
  graph.io.outputs = outputTensors(inner, branch.outputs, new Set(graph.io.inputs), onnxLayout(inner));
  for (const [what, n] of inner.tally) ctx.count(what, n);
  return index;
}

export function lowerIf(node: Node, ctx: ExportContext): void {
  const cond = node.inputs[0];
  if (!cond) ctx.unsupported(node, 'it has no condition input');
  if (cond.dtype !== 'bool')
    ctx.unsupported(node, `its condition is ${cond.dtype ?? 'of unknown type'}; TFLite's IF takes a bool`);
  const outer = outerValues(node);
  const inputs = [ctx.tensor(cond), ...outer.map((v) => ctx.tensor(v))];
  const then_subgraph_index = lowerBranch(node, 'then_branch', outer, ctx);
  const else_subgraph_index = lowerBranch(node, 'else_branch', outer, ctx);
  const outputs = node.outputs.map((out) => ctx.define(out));
  ctx.emit('IF', inputs, outputs, 'IfOptions', { then_subgraph_index, else_subgraph_index });
  ctx.count('If written as IF with two branch subgraphs');
}

/**
 * A Constant node left in the graph (constant lifting keeps those that produce a branch's
 * output): its value as a constant tensor of the subgraph.
 */
export function lowerConstant(node: Node, ctx: ExportContext): void {
  const value = constantNodeValue(node);
  if (!value) ctx.unsupported(node, 'its value attribute is missing or sparse beyond densifying');
  const tensor = ctx.graph.addConstant(node.outputs[0].name, value);
  ctx.place(node.outputs[0], { tensor, perm: identityPerm(value.dims.length) });
}
