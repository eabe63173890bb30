/**
 * Activations that exporters write out elementwise: hard-sigmoid and hard-swish as clips of
 * `x + 3` (PaddlePaddle, TF, PyTorch's traced `relu6(x + 3) / 6`), SiLU as `x * sigmoid(x)`,
 * GELU as its erf or tanh formula. Each becomes the one ONNX op, when the model's opset has it.
 * The checks follow onnxruntime's own fusions (gelu_fusion.cc, fast_gelu_fusion.cc): every
 * constant's value, every intermediate read only inside the idiom, float types.
 */
import { attr } from '../../ir/attribute.js';
import type { Node } from '../../ir/node.js';
import type { Value } from '../../ir/value.js';
import { isClosed, isFloat, near, otherOperand, producedBy, scalarOf, constantOf } from './match.js';
import { cofactor, productOf } from './product.js';
import { fuseInto, fuseIntoChain, type Rewrite } from './rewrite.js';

/** `lo ≤ input ≤ hi`, as Clip, Relu or Min/Max with constants wrote it. */
interface Clamp {
  input: Value;
  lo: number;
  hi: number;
  nodes: Node[];
}

/** The bounds of a Clip: attributes before opset 11, optional constant inputs after. */
function clipBounds(clip: Node, opset: number): [number, number] | undefined {
  if (opset < 11) {
    const float = (name: string, fallback: number) => {
      const a = clip.attributes.get(name);
      return !a ? fallback : a.kind === 'float' ? a.value : undefined;
    };
    const [lo, hi] = [float('min', -Infinity), float('max', Infinity)];
    return lo === undefined || hi === undefined ? undefined : [lo, hi];
  }
  const bound = (i: number, fallback: number) => {
    const v = clip.inputs[i];
    if (!v) return fallback;
    const t = constantOf(v);
    return t && t.size === 1 ? t.toFloat64()[0] : undefined;
  };
  const lo = bound(1, -Infinity);
  const hi = bound(2, Infinity);
  return lo === undefined || hi === undefined ? undefined : [lo, hi];
}

/** `v` as a clamp of some value: Clip, Relu, and Min/Max against a constant, nested in any order. */
function clampOf(v: Value, opset: number): Clamp | undefined {
  const node = producedBy(v, ['Clip', 'Relu', 'Min', 'Max']);
  if (!node || !node.inputs[0]) return undefined;
  let input: Value;
  let lo = -Infinity;
  let hi = Infinity;
  if (node.opType === 'Clip') {
    const bounds = clipBounds(node, opset);
    if (!bounds) return undefined;
    [lo, hi] = bounds;
    input = node.inputs[0];
  } else if (node.opType === 'Relu') {
    lo = 0;
    input = node.inputs[0];
  } else {
    if (node.inputs.length !== 2) return undefined;
    const [a, b] = node.inputs;
    const inB = scalarOf(b, a);
    const [c, other] = inB !== undefined ? [inB, a] : [scalarOf(a, b), b];
    if (!other) return undefined;
    if (c === undefined) return undefined;
    if (node.opType === 'Min') hi = c;
    else lo = c;
    input = other;
  }
  const inner = clampOf(input, opset);
  if (!inner) return { input, lo, hi, nodes: [node] };
  return { input: inner.input, lo: Math.max(lo, inner.lo), hi: Math.min(hi, inner.hi), nodes: [node, ...inner.nodes] };
}

/** `v = a·x + b`, as Add/Sub of a constant after an optional Mul/Div by one. */
function affineOf(v: Value): { x: Value; a: number; b: number; nodes: Node[] } {
  const nodes: Node[] = [];
  let x = v;
  let a = 1;
  let b = 0;
  const add = producedBy(x, ['Add', 'Sub']);
  if (add) {
    const [p, q] = add.inputs;
    const c = p && q ? scalarOf(q, p) : undefined;
    const c0 = p && q && add.opType === 'Add' ? scalarOf(p, q) : undefined;
    if (c !== undefined) [b, x] = [add.opType === 'Sub' ? -c : c, p!];
    else if (c0 !== undefined) [b, x] = [c0, q!];
    if (c !== undefined || c0 !== undefined) nodes.push(add);
  }
  const mul = producedBy(x, ['Mul', 'Div']);
  if (mul) {
    const [p, q] = mul.inputs;
    const c = p && q ? scalarOf(q, p) : undefined;
    const c0 = p && q && mul.opType === 'Mul' ? scalarOf(p, q) : undefined;
    if (c !== undefined && c !== 0) {
      const s = mul.opType === 'Div' ? 1 / c : c;
      [a, x] = [s, p!];
      nodes.push(mul);
    } else if (c0 !== undefined) {
      [a, x] = [c0, q!];
      nodes.push(mul);
    }
  }
  return { x, a, b, nodes };
}

/** `v = k · HardSigmoid(x; alpha, beta)`: an existing HardSigmoid (k = 1), or clip(a·x + b, 0, k). */
interface ScaledHardSigmoid {
  x: Value;
  alpha: number;
  beta: number;
  k: number;
  nodes: Node[];
  /** True when `v` already is a HardSigmoid node. */
  native: boolean;
}

function hardSigmoidOf(v: Value, opset: number): ScaledHardSigmoid | undefined {
  const hs = producedBy(v, 'HardSigmoid');
  if (hs?.inputs[0]) {
    const alpha = hs.attr('alpha', 'float', 0.2);
    const beta = hs.attr('beta', 'float', 0.5);
    return { x: hs.inputs[0], alpha, beta, k: 1, nodes: [hs], native: true };
  }
  const clamp = clampOf(v, opset);
  if (!clamp || clamp.lo !== 0 || !(clamp.hi > 0 && clamp.hi < Infinity)) return undefined;
  const affine = affineOf(clamp.input);
  if (affine.nodes.length === 0) return undefined;
  const { x, a, b } = affine;
  return {
    x,
    alpha: a / clamp.hi,
    beta: b / clamp.hi,
    k: clamp.hi,
    nodes: [...clamp.nodes, ...affine.nodes],
    native: false,
  };
}

/** clip(a·x + b, 0, 1), or a clip to [0, h] scaled by 1/h → HardSigmoid(alpha = a, beta = b). */
const hardSigmoid: Rewrite = {
  name: 'hard-sigmoid',
  roots: ['Clip', 'Mul', 'Div'],
  minOpset: 6,
  apply(root, { opset }) {
    const product = root.opType === 'Clip' ? undefined : productOf(root);
    if (root.opType !== 'Clip' && product?.factors.length !== 1) return false;
    const scale = product?.scale ?? 1;
    const hs = hardSigmoidOf(product ? product.factors[0] : root.outputs[0], opset);
    if (!hs || hs.native || !(scale > 0) || !near(scale * hs.k, 1) || !isFloat(hs.x)) return false;
    const region = [...(product?.nodes ?? []), ...hs.nodes];
    if (!isClosed(region, root)) return false;
    fuseInto(region, root, 'HardSigmoid', [hs.x], [attr('alpha', 'float', hs.alpha), attr('beta', 'float', hs.beta)]);
    return true;
  },
};

/**
 * x · HardSigmoid(x) with alpha 1/6, beta 0.5 (or x · clip(x + 3, 0, 6) / 6 in any product
 * order) → HardSwish from opset 14; below it, x · HardSigmoid(x), two nodes for four.
 */
const hardSwish: Rewrite = {
  name: 'hard-swish',
  roots: ['Mul', 'Div'],
  minOpset: 6,
  apply(root, { opset }) {
    const product = productOf(root);
    if (!product || product.factors.length !== 2 || !(product.scale > 0)) return false;
    for (const x of product.factors) {
      const hs = hardSigmoidOf(cofactor(product, x)!, opset);
      if (!hs || hs.x !== x || !isFloat(x)) continue;
      if (!near(product.scale * hs.k, 1) || !near(hs.alpha, 1 / 6) || !near(hs.beta, 0.5)) continue;
      const region = [...product.nodes, ...hs.nodes];
      if (!isClosed(region, root)) return false;
      if (opset >= 14) fuseInto(region, root, 'HardSwish', [x]);
      else if (hs.native && product.nodes.length === 1)
        return false; // already x · HardSigmoid(x)
      else
        fuseIntoChain(region, root, (b) => {
          const [h] = b.op(
            'HardSigmoid',
            [x],
            [attr('alpha', 'float', 1 / 6), attr('beta', 'float', 0.5)],
            [`${root.outputs[0].name}_hardsigmoid`],
          );
          return b.op('Mul', [x, h], {}, [`${root.outputs[0].name}_fused`])[0];
        });
      return true;
    }
    return false;
  },
};

/** x · Sigmoid(α·x) → Swish(alpha = α), an op only from opset 24 (SiLU when α = 1). */
const swish: Rewrite = {
  name: 'swish',
  roots: ['Mul'],
  minOpset: 24,
  apply(root) {
    const product = productOf(root);
    if (!product || product.factors.length !== 2 || product.scale !== 1) return false;
    for (const x of product.factors) {
      const sigmoid = producedBy(cofactor(product, x), 'Sigmoid');
      const arg = sigmoid?.inputs[0];
      if (!sigmoid || !arg || !isFloat(x)) continue;
      const inner = arg === x ? undefined : producedBy(arg, 'Mul');
      const scaled = inner ? productOf(inner) : undefined;
      if (arg !== x && !(scaled?.factors.length === 1 && scaled.factors[0] === x)) continue;
      const region = [...product.nodes, sigmoid, ...(scaled?.nodes ?? [])];
      if (!isClosed(region, root)) return false;
      fuseInto(region, root, 'Swish', [x], [attr('alpha', 'float', scaled?.scale ?? 1)]);
      return true;
    }
    return false;
  },
};

/** `v = 1 + f(…)` with f the `op` node; returns that node. */
function onePlus(v: Value, op: string): Node | undefined {
  const add = producedBy(v, 'Add');
  if (!add) return undefined;
  for (const operand of add.inputs) {
    const f = operand ? producedBy(operand, op) : undefined;
    if (f && scalarOf(otherOperand(add, operand!), operand) === 1) return f;
  }
  return undefined;
}

/** Nodes computing `scale · x` (a Mul/Div tree over x alone), or undefined. */
function scaledBy(v: Value | undefined, x: Value, scale: number): Node[] | undefined {
  const node = producedBy(v, ['Mul', 'Div']);
  const p = node ? productOf(node) : undefined;
  return p && p.factors.length === 1 && p.factors[0] === x && near(p.scale, scale) ? p.nodes : undefined;
}

/** x + 0.044715·x³, the cubic under the tanh of GELU's approximation (x³ as Pow(x, 3) or x·x·x). */
function geluCubic(v: Value | undefined, x: Value): Node[] | undefined {
  const add = producedBy(v, 'Add');
  if (!add) return undefined;
  const cube = otherOperand(add, x);
  const mul = cube && producedBy(cube, 'Mul');
  const p = mul ? productOf(mul) : undefined;
  if (!p || !near(p.scale, 0.044715)) return undefined;
  if (p.factors.length === 3 && p.factors.every((f) => f === x)) return [add, ...p.nodes];
  const pow = p.factors.length === 1 ? producedBy(p.factors[0], 'Pow') : undefined;
  const exponent = pow ? constantOf(pow.inputs[1]) : undefined;
  if (pow?.inputs[0] !== x || exponent?.size !== 1 || exponent.toFloat64()[0] !== 3) return undefined;
  return [add, ...p.nodes, pow];
}

/** The rest of a GELU after `x · 0.5 · (1 + f)`: the erf or tanh branch, with its nodes. */
function geluBranch(f: Value, x: Value): { approximate: 'none' | 'tanh'; nodes: Node[] } | undefined {
  const erf = onePlus(f, 'Erf');
  const scaled = erf && scaledBy(erf.inputs[0], x, Math.SQRT1_2);
  if (erf && scaled) return { approximate: 'none', nodes: [f.producer()!, erf, ...scaled] };
  const tanh = onePlus(f, 'Tanh');
  const outer = tanh && producedBy(tanh.inputs[0], 'Mul');
  const p = outer ? productOf(outer) : undefined;
  if (!tanh || !p || p.factors.length !== 1 || !near(p.scale, Math.sqrt(2 / Math.PI))) return undefined;
  const cubic = geluCubic(p.factors[0], x);
  return cubic && { approximate: 'tanh', nodes: [f.producer()!, tanh, ...p.nodes, ...cubic] };
}

/** x · 0.5 · (1 + erf(x / √2)) → Gelu; x · 0.5 · (1 + tanh(√(2/π)(x + 0.044715x³))) → Gelu(tanh). Opset 20. */
const gelu: Rewrite = {
  name: 'gelu',
  roots: ['Mul', 'Div'],
  minOpset: 20,
  apply(root) {
    const product = productOf(root);
    if (!product || product.factors.length !== 2 || !near(product.scale, 0.5)) return false;
    for (const x of product.factors) {
      const branch = isFloat(x) ? geluBranch(cofactor(product, x)!, x) : undefined;
      if (!branch) continue;
      const region = [...product.nodes, ...branch.nodes];
      if (!isClosed(region, root)) return false;
      fuseInto(region, root, 'Gelu', [x], branch.approximate === 'tanh' ? { approximate: 'tanh' } : {});
      return true;
    }
    return false;
  },
};

/** The activation fusions, in the order they compose: hard-sigmoid first, so hard-swish sees it. */
export const ACTIVATION_REWRITES: readonly Rewrite[] = [hardSigmoid, hardSwish, swish, gelu];
