/**
 * What every fusion asks of a candidate region before it rewrites it: constants' exact values,
 * producers of the right op, intermediate values read only inside the region, float dtypes and
 * broadcasts that leave shapes as they were. A fusion that cannot prove all of it leaves the
 * graph alone, as onnxruntime's and onnxsim's fusions do.
 */
import type { Graph } from '../../ir/graph.js';
import type { Node } from '../../ir/node.js';
import type { Value } from '../../ir/value.js';
import type { Tensor } from '../../tensor/tensor.js';
import { isDefaultDomain } from '../../ops/op-schema.js';

/** Element types the activation and normalization ops accept. */
const FLOAT_TYPES = new Set(['float32', 'float16', 'float64']);

/**
 * Tolerance on constants exporters round: 1/6 written 0.16667, √2 written 1.4142, √(2/π)
 * 0.7978846. 1e-4 relative accepts five significant digits and rejects a different constant
 * (0.17, 3.1).
 */
export const CONSTANT_RTOL = 1e-4;

/** `a` equals `b` within `rtol` relative (exact when b is 0). */
export function near(a: number, b: number, rtol = CONSTANT_RTOL): boolean {
  return b === 0 ? a === 0 : Math.abs(a - b) <= rtol * Math.abs(b);
}

/** The fixed contents of `v`: an initializer that is not also a graph input (which a caller may override). */
export function constantOf(v: Value | undefined): Tensor | undefined {
  if (!v?.const || v.isGraphInput) return undefined;
  return v.const;
}

/** Rank of a value, when known. */
export function rankOf(v: Value | undefined): number | undefined {
  return v?.shape?.length;
}

/** True for a float tensor type the fused ops accept (float16, float32, float64). */
export function isFloat(v: Value | undefined): boolean {
  return !!v?.dtype && FLOAT_TYPES.has(v.dtype);
}

/**
 * The value of a one-element float constant `c` when broadcasting it against `other` leaves
 * `other`'s shape unchanged: a scalar, or a `[1, …]` of rank at most `other`'s (known) rank.
 */
export function scalarOf(c: Value | undefined, other: Value | undefined): number | undefined {
  const t = constantOf(c);
  if (!t || t.size !== 1 || !FLOAT_TYPES.has(t.dtype)) return undefined;
  if (t.dims.length > 0) {
    const rank = rankOf(other);
    if (rank === undefined || t.dims.length > rank) return undefined;
  }
  return t.toFloat64()[0];
}

/** The node computing `v` when it is the default-domain `op` in `v`'s own graph. */
export function producedBy(v: Value | undefined, op: string | readonly string[]): Node | undefined {
  const p = v?.producer();
  if (!p || p.graph !== v!.graph || !isDefaultDomain(p)) return undefined;
  return (typeof op === 'string' ? p.opType === op : op.includes(p.opType)) ? p : undefined;
}

/** The operand of a two-input node that is not `v` (undefined when `v` is not one of them). */
export function otherOperand(node: Node, v: Value): Value | undefined {
  const [a, b] = node.inputs;
  if (a === v) return b;
  if (b === v) return a;
  return undefined;
}

/**
 * True when a rewrite may drop every node of `region` but `root`: their outputs are read only
 * by nodes of the region (subgraph readers count as outside) and none is a graph output.
 */
export function isClosed(region: readonly Node[], root: Node): boolean {
  const inside = new Set(region);
  for (const n of region) {
    if (n === root) continue;
    const graph: Graph | undefined = n.graph;
    for (const o of n.outputs) {
      if (graph?.outputs.includes(o)) return false;
      if (o.uses().some((u) => !inside.has(u.node))) return false;
    }
  }
  return true;
}

/**
 * Axes a reduction runs over, from its `axes` attribute or (newer opsets) its second input;
 * negative axes resolved with `rank` when known. Undefined when they are not constant, or not
 * given (a reduction over every axis is no idiom's).
 */
export function reduceAxes(node: Node, rank: number | undefined): number[] | undefined {
  const input = node.inputs[1];
  let axes: number[] | undefined;
  if (input) {
    const t = constantOf(input);
    if (!t || t.dims.length > 1) return undefined;
    axes = Array.from(t.toFloat64());
  } else axes = node.attr('axes', 'ints');
  if (!axes?.length) return undefined;
  if (rank === undefined) return axes;
  return axes.map((a) => (a < 0 ? a + rank : a));
}

/** True when a reduction keeps the reduced axes (keepdims, default 1). */
export const keepsDims = (node: Node): boolean => node.attr('keepdims', 'int', 1) === 1;

/** Equal as sets of axes. */
export function sameAxes(a: readonly number[], b: readonly number[]): boolean {
  const sa = [...a].sort((x, y) => x - y);
  const sb = [...b].sort((x, y) => x - y);
  return sa.length === sb.length && sa.every((x, i) => x === sb[i]);
}
