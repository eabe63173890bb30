/**
 * Shape and type inference over a graph, with the data propagation that models exported
 * from PyTorch need: values computed from shapes (Shape → Gather → Concat → Reshape) are
 * evaluated with the constant kernels, so the Reshape after them gets a real shape.
 */
import { opEntry } from '../ops/op-names.js';
import { isDefaultDomain } from '../ops/op-schema.js';
import type { Graph } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import type { Value } from '../ir/value.js';
import type { TensorType } from '../ir/types.js';
import type { Tensor } from '../tensor/tensor.js';
import { ShapeError } from '../errors.js';
import { evaluateNode, shapeTensor } from '../ops/eval.js';
import { isStatic, mergeShapes } from './dims.js';
import { RULES, type Rule } from './rules.js';

export interface InferShapesOptions {
  /** Largest constant (in elements) evaluated while propagating shape data. Default 4096. */
  maxConstantElements?: number;
  /** Throw on shape conflicts (default) or record them and carry on. */
  strict?: boolean;
}

export interface InferShapesResult {
  /** Values whose type was set or made more precise. */
  updated: number;
  /** Nodes with no rule (their outputs keep whatever type they had). */
  unsupported: { node: string; opType: string; domain: string }[];
  /** Shape conflicts found (only when strict is false). */
  errors: string[];
}

const tensorTypeOf = (v: Value | undefined): TensorType | undefined => {
  if (!v) return undefined;
  if (v.const) return { kind: 'tensor', dtype: v.const.dtype, shape: [...v.const.dims] };
  return v.type?.kind === 'tensor' ? v.type : undefined;
};

/**
 * Infer tensor types for every node output of the model's main graph (subgraph outputs
 * are left as declared). Declared shapes are kept where they are more precise.
 *
 * @example
 * ```ts
 * inferShapes(model);
 * model.graph.findValue('logits')?.shape; // e.g. ['batch', 1000]
 * ```
 */
export function inferShapes(model: Model, options: InferShapesOptions = {}): InferShapesResult {
  return inferGraphShapes(model.graph, model.opset() ?? 1, options);
}

/** If: each output takes what both branches agree on. */
const ifRule: Rule = ({ node, consts }) => {
  const then = node.attr('then_branch', 'graph'),
    other = node.attr('else_branch', 'graph');
  const cond = consts[0];
  if (cond && cond.size === 1) {
    // A known condition picks one branch.
    const branch = cond.toFloat64()[0] ? then : other;
    return node.outputs.map((_, i) => tensorTypeOf(branch?.outputs[i]));
  }
  return node.outputs.map((_, i) => {
    const a = tensorTypeOf(then?.outputs[i]),
      b = tensorTypeOf(other?.outputs[i]);
    if (!a || !b) return undefined;
    const shape =
      a.shape && b.shape && a.shape.length === b.shape.length
        ? a.shape.map((d, k) => (d === b.shape![k] ? d : null))
        : undefined;
    return { kind: 'tensor', dtype: a.dtype === b.dtype ? a.dtype : undefined, shape };
  });
};

/**
 * Loop: a carried output has its body output's type (body outputs are cond, carried…, scans…),
 * or its initial value's where the body does not say; scan outputs are left unknown.
 */
const loopRule: Rule = ({ node, types }) => {
  const body = node.attr('body', 'graph');
  const carried = node.inputs.length - 2;
  return node.outputs.map((_, k) => (k < carried ? (tensorTypeOf(body?.outputs[1 + k]) ?? types[2 + k]) : undefined));
};

export function inferGraphShapes(
  graph: Graph,
  opset: number,
  options: InferShapesOptions = {},
  outerKnown?: Map<Value, Tensor>,
): InferShapesResult {
  const maxElems = options.maxConstantElements ?? 4096;
  const strict = options.strict ?? true;
  const result: InferShapesResult = { updated: 0, unsupported: [], errors: [] };
  // Outer-scope constants stay visible inside subgraphs.
  const known = new Map<Value, Tensor>(outerKnown);
  for (const v of graph.initializers.values())
    if (v.const && !v.const.externalData && v.const.size <= maxElems) known.set(v, v.const);
  // Graph inputs that are also initializers can be overridden at run time: not constants.
  for (const v of graph.inputs) known.delete(v);

  for (const node of graph.topologicalOrder()) {
    const types = node.inputs.map((v) => tensorTypeOf(v));
    const consts = node.inputs.map((v) => (v ? known.get(v) : undefined));
    const subgraphs = node.subgraphs();
    for (const sub of subgraphs) {
      const r = inferGraphShapes(sub, opset, options, known);
      result.updated += r.updated;
      result.unsupported.push(...r.unsupported);
      result.errors.push(...r.errors);
    }
    const control = isDefaultDomain(node) ? { If: ifRule, Loop: loopRule }[node.opType] : undefined;
    const rule = control ?? opEntry(RULES, node);
    if (!rule) {
      result.unsupported.push({ node: node.name, opType: node.opType, domain: node.domain });
      continue;
    }
    let inferred: (TensorType | undefined)[];
    try {
      inferred = rule({ node, types, consts, opset });
    } catch (e) {
      if (strict || !(e instanceof ShapeError)) throw e;
      result.errors.push(e.message);
      continue;
    }
    node.outputs.forEach((out, i) => {
      const t = inferred[i];
      if (!t || !out.name) return;
      const prev = out.type?.kind === 'tensor' ? out.type : undefined;
      const merged: TensorType = {
        kind: 'tensor',
        dtype: prev?.dtype ?? t.dtype,
        shape: mergeShapes(prev?.shape, t.shape),
      };
      // A type without an element type is not a type ONNX runtimes accept in value_info: leave it out.
      if (!merged.dtype) return;
      if (prev?.dimDenotations) merged.dimDenotations = prev.dimDenotations;
      if (prev?.denotation !== undefined) merged.denotation = prev.denotation;
      if (!prev || JSON.stringify(prev.shape) !== JSON.stringify(merged.shape) || prev.dtype !== merged.dtype) {
        out.type = merged;
        result.updated++;
      } else if (out.type?.kind !== 'tensor') out.type = merged;
    });
    // Data propagation: evaluate small constant subexpressions, and Shape of static shapes.
    if (node.opType === 'Shape' && isDefaultDomain(node)) {
      const s = types[0]?.shape;
      if (isStatic(s)) known.set(node.outputs[0], shapeTensor(node, s));
      continue;
    }
    if (node.inputs.length && node.inputs.every((v, i) => !v || consts[i])) {
      try {
        const outs = evaluateNode(node, consts, opset);
        outs?.forEach((t, i) => {
          if (t && t.size <= maxElems && node.outputs[i]) known.set(node.outputs[i], t);
        });
      } catch (e) {
        if (strict || !(e instanceof ShapeError)) throw e;
        result.errors.push((e as Error).message);
      }
    } else if (node.opType === 'Constant' || node.opType === 'ConstantOfShape') {
      const outs = evaluateNode(node, consts, opset);
      outs?.forEach((t, i) => {
        if (t && t.size <= maxElems) known.set(node.outputs[i], t);
      });
    }
  }
  return result;
}
