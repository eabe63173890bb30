/**
 * Exporters write one product in many orders: `x * 0.5 * (1 + erf)`, `x * (0.5 * (1 + erf))`,
 * `(x * clip) / 6`, `x * (clip * 0.16666)`. Flattening a tree of Mul (and Div by a constant)
 * into its factors and one scalar lets each idiom be matched once, whatever the order.
 */
import type { Node } from '../../ir/node.js';
import type { Value } from '../../ir/value.js';
import { isClosed, otherOperand, producedBy, scalarOf } from './match.js';

/** A flattened product: `scale · Π factors`, computed by `nodes` (the root first). */
export interface Product {
  factors: Value[];
  scale: number;
  nodes: Node[];
}

/** One-element constant operands of `node` that broadcast without changing the other operand's shape. */
function scalarOperand(node: Node, v: Value): number | undefined {
  const other = otherOperand(node, v);
  return other ? scalarOf(v, other) : undefined;
}

function collect(node: Node): Product | undefined {
  const [a, b] = node.inputs;
  if (!a || !b) return undefined;
  const p: Product = { factors: [], scale: 1, nodes: [node] };
  let operands = [a, b];
  if (node.opType === 'Div') {
    const d = scalarOperand(node, b);
    if (d === undefined || d === 0) return undefined;
    p.scale = 1 / d;
    operands = [a];
  }
  for (const v of operands) {
    const s = node.opType === 'Mul' ? scalarOperand(node, v) : undefined;
    if (s !== undefined) {
      p.scale *= s;
      continue;
    }
    const inner = producedBy(v, ['Mul', 'Div']);
    // An inner product joins only when nothing else reads it.
    const sub = inner && v.uses().length === 1 && !inner.graph!.outputs.includes(v) ? collect(inner) : undefined;
    if (!sub) {
      p.factors.push(v);
      continue;
    }
    p.factors.push(...sub.factors);
    p.nodes.push(...sub.nodes);
    p.scale *= sub.scale;
  }
  return p;
}

/**
 * The product `root` (a Mul, or a Div by a one-element constant) computes, flattened through
 * inner Mul/Div nodes read only by it. Undefined when `root` is not such a product.
 */
export function productOf(root: Node): Product | undefined {
  if (root.opType !== 'Mul' && root.opType !== 'Div') return undefined;
  const p = collect(root);
  return p && isClosed(p.nodes, root) ? p : undefined;
}

/**
 * The factor of `p` other than `x` when `p` is `x · f` (in either order); undefined when it
 * has other factors.
 */
export function cofactor(p: Product, x: Value): Value | undefined {
  if (p.factors.length !== 2) return undefined;
  const [a, b] = p.factors;
  return a === x ? b : b === x ? a : undefined;
}
