import { isDefaultDomain } from '../ops/op-schema.js';
import type { Graph } from '../ir/graph.js';
import { Value } from '../ir/value.js';
import { Node } from '../ir/node.js';
import type { Tensor } from '../tensor/tensor.js';
import { evaluateNode, shapeTensor } from '../ops/eval.js';
import { isStatic } from '../shape/dims.js';
import type { Pass } from './pass.js';

export interface ConstantFoldingOptions {
  /** Do not create constants with more elements than this (default 1,048,576), so folding never bloats a model. */
  maxElements?: number;
  /**
   * Most elements one fold may add to the model (default 1024): what it creates less the
   * constants only it read, which go. ConstantOfShape, Tile, Expand or Range over a few shape
   * numbers would otherwise become dense initializers far larger than the nodes they replace —
   * a tf2onnx face detector grew from 442 KB to 613 KB that way. Folds that shrink or keep the
   * size (Transpose or Reshape of a weight read once) always go ahead.
   */
  maxGrowthElements?: number;
}

/** Elements a fold adds: its results less the constant inputs nothing else reads (they are dropped). */
function growthOf(n: Node, results: readonly Tensor[], graph: Graph): number {
  let added = 0;
  for (const t of results) added += t.size;
  const freed = new Set<Value>();
  for (const v of n.inputs) {
    if (!v?.const || freed.has(v) || graph.outputs.includes(v)) continue;
    if (v.uses().every((u) => u.node === n)) freed.add(v);
  }
  for (const v of freed) added -= v.const!.size;
  return added;
}

/** A value whose contents are fixed: an initializer that is not also a graph input. */
function constantOf(v: Value | undefined): Tensor | undefined {
  if (!v?.const) return undefined;
  if (v.graph?.inputs.includes(v)) return undefined;
  return v.const;
}

/**
 * Replace nodes whose inputs are all constant (and Shape nodes on static shapes) by
 * initializers holding their results. The old nodes are removed; run dead-code
 * elimination afterwards to drop initializers nothing reads any more.
 */
export function foldConstants(graph: Graph, opset: number, options: ConstantFoldingOptions = {}): number {
  const maxElements = options.maxElements ?? 1 << 20;
  const maxGrowth = options.maxGrowthElements ?? 1024;
  let folded = 0;
  for (const n of graph) {
    if (n.opType === 'If' && isDefaultDomain(n) && inlineConstantIf(graph, n)) {
      folded++;
      continue;
    }
    if (n.subgraphs().length) {
      // Subgraph nodes can read this graph's constants from the outer scope.
      for (const sub of n.subgraphs()) folded += foldConstants(sub, opset, options);
      continue;
    }
    let results: Tensor[] | undefined;
    if (n.opType === 'Shape' && isDefaultDomain(n)) {
      const s = n.inputs[0]?.shape;
      if (isStatic(s)) results = [shapeTensor(n, s)];
    } else {
      const inputs = n.inputs.map((v) => (v ? constantOf(v) : undefined));
      if (n.inputs.some((v, i) => v && !inputs[i])) continue;
      try {
        results = evaluateNode(n, inputs, opset);
      } catch {
        // A kernel that cannot evaluate (bad indices...) leaves the node for the runtime to report.
        results = undefined;
      }
    }
    if (!results || results.length < n.outputs.length || results.some((t) => t.size > maxElements)) continue;
    if (growthOf(n, results, graph) > maxGrowth) continue;
    const outputs = new Set(graph.outputs);
    if (n.outputs.some((o) => outputs.has(o))) continue;
    const replacements = n.outputs.map((out, i) => {
      const t = results[i];
      t.name = out.name;
      const v = new Value(out.name, { kind: 'tensor', dtype: t.dtype, shape: [...t.dims] }, t);
      out.replaceAllUsesWith(v);
      return v;
    });
    graph.remove(n);
    // Registered after the node is gone, so each constant keeps the name of the value it replaces.
    for (const v of replacements) {
      v.graph = graph;
      graph.initializers.set(v.name, v);
    }
    folded++;
  }
  return folded;
}

/** Constant folding as a pass. */
export function constantFolding(options: ConstantFoldingOptions = {}): Pass {
  return {
    name: 'constant-folding',
    inPlace: true,
    run: (model) => ({ model, modified: foldConstants(model.graph, model.opset() ?? 1, options) > 0 }),
  };
}

/**
 * An If whose condition is a constant: move the taken branch's nodes and constants into
 * this graph in place of the If. Names that would clash are made unique.
 */
function inlineConstantIf(graph: Graph, node: Node): boolean {
  const cond = constantOf(node.inputs[0]);
  if (!cond || cond.size !== 1) return false;
  const branch = node.attr(cond.toFloat64()[0] ? 'then_branch' : 'else_branch', 'graph');
  if (!branch || branch.outputs.length !== node.outputs.length) return false;
  const taken = new Set(graph.valueNames());
  const claim = (v: Value) => {
    if (taken.has(v.name)) v.name = graph.uniqueName(v.name);
    taken.add(v.name);
  };
  for (const [name, v] of [...branch.initializers]) {
    branch.initializers.delete(name);
    claim(v);
    if (v.const) v.const.name = v.name;
    v.graph = graph;
    graph.initializers.set(v.name, v);
  }
  for (const inner of branch.nodes) {
    const inputs = [...inner.inputs];
    branch.remove(inner, { safe: false });
    // remove() detaches inputs; reattach them as they were.
    inputs.forEach((v, i) => inner.setInput(i, v));
    for (const o of inner.outputs) if (o.name) claim(o);
    graph.insertBefore(node, inner);
  }
  const outputs = [...node.outputs];
  const results = [...branch.outputs];
  outputs.forEach((out, i) => {
    const r = results[i];
    if (!graph.outputs.includes(out)) {
      out.replaceAllUsesWith(r);
      return;
    }
    // A graph output keeps its name: the inlined value takes it over, or an Identity carries an outer value.
    for (const u of out.uses()) u.node.setInput(u.index, r);
    const moved = r.producer()?.graph === graph && !graph.outputs.includes(r) && !outputs.includes(r);
    if (moved) {
      graph.outputs[graph.outputs.indexOf(out)] = r;
      taken.delete(r.name);
      r.name = out.name;
      r.type = out.type ?? r.type;
    } else {
      const id = new Node({
        opType: 'Identity',
        name: graph.uniqueName(`${out.name}_identity`),
        inputs: [r],
        outputs: [`${out.name}__pending`],
      });
      graph.insertBefore(node, id);
      graph.outputs[graph.outputs.indexOf(out)] = id.outputs[0];
      id.outputs[0].name = out.name;
      id.outputs[0].type = out.type;
    }
  });
  graph.remove(node, { safe: false });
  return true;
}
