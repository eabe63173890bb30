/**
 * Transposes that cancel or merge. tf2onnx wraps each convolution of an NHWC model in
 * NHWC→NCHW and NCHW→NHWC transposes; back to back they compose to the identity and go, as in
 * onnxruntime's transpose optimizer and onnxsim's eliminate/fuse rules. A pair separated by
 * elementwise ops (Relu, a scalar Mul, …) cancels too, and a constant bias added after a
 * transpose moves before it when that lets it fold into a Conv or meet the next transpose.
 */
import { eliminateNode } from '../../ir/editing.js';
import { Node } from '../../ir/node.js';
import type { Value } from '../../ir/value.js';
import { evaluateNode } from '../../ops/eval.js';
import type { Tensor } from '../../tensor/tensor.js';
import { constantOf, isClosed, producedBy, rankOf, scalarOf } from './match.js';
import { fuseInto, fuseIntoChain, type Rewrite } from './rewrite.js';

/** A Transpose's permutation (the default reverses the axes, which needs the rank). */
function permOf(t: Node): number[] | undefined {
  const perm = t.attr('perm', 'ints');
  if (perm) return perm;
  const rank = rankOf(t.inputs[0]);
  return rank === undefined ? undefined : Array.from({ length: rank }, (_, i) => rank - 1 - i);
}

/** Transpose(Transpose(x, inner), outer) = Transpose(x, q) with q[i] = inner[outer[i]]. */
const compose = (inner: readonly number[], outer: readonly number[]) => outer.map((o) => inner[o]);
const isIdentity = (perm: readonly number[]) => perm.every((p, i) => p === i);
const inverse = (perm: readonly number[]) => {
  const inv = new Array<number>(perm.length);
  perm.forEach((p, i) => (inv[p] = i));
  return inv;
};

/** Replace `region` by x itself: an Identity that eliminateNode then drops where names allow. */
function passThrough(region: Node[], root: Node, x: Value): void {
  const identity = fuseInto(region, root, 'Identity', [x]);
  eliminateNode(identity);
}

/** Transpose(Transpose(x)) → Transpose(x, composed), or x when they cancel. */
const transposePair: Rewrite = {
  name: 'transpose-merge',
  roots: ['Transpose'],
  apply(root) {
    const inner = producedBy(root.inputs[0], 'Transpose');
    const x = inner?.inputs[0];
    const p1 = inner && permOf(inner);
    const p2 = permOf(root);
    if (!inner || !x || !p1 || !p2 || p1.length !== p2.length) return false;
    const region = isClosed([inner, root], root) ? [inner, root] : [root];
    const perm = compose(p1, p2);
    if (isIdentity(perm)) passThrough(region, root, x);
    else fuseInto(region, root, 'Transpose', [x], { perm });
    return true;
  },
};

const UNARY = new Set([
  'Relu', 'LeakyRelu', 'Sigmoid', 'Tanh', 'Exp', 'Log', 'Abs', 'Neg', 'Sqrt', 'Reciprocal', 'Erf', 'Elu', 'Selu',
  'Celu', 'HardSigmoid', 'HardSwish', 'Softplus', 'Softsign', 'Gelu', 'Swish', 'Mish', 'ThresholdedRelu', 'Ceil',
  'Floor', 'Round', 'Sign', 'Sin', 'Cos', 'Cast', 'Clip', 'Identity', 'Not',
]); // prettier-ignore

/** An elementwise op whose result commutes with any transpose: unary, or binary with a one-element constant. */
function isElementwise(n: Node): boolean {
  if (UNARY.has(n.opType)) return n.inputs.slice(1).every((v) => !v || constantOf(v)?.size === 1);
  if (!['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min'].includes(n.opType) || n.inputs.length !== 2) return false;
  const [a, b] = n.inputs;
  return scalarOf(a, b) !== undefined || scalarOf(b, a) !== undefined;
}

/** Transpose(f(Transpose(x))) with f elementwise and the perms inverse → f(x). */
const transposeThrough: Rewrite = {
  name: 'transpose-cancel-through',
  roots: ['Transpose'],
  apply(root) {
    const chain: Node[] = [];
    let v = root.inputs[0];
    let node = producedBy(v, [...UNARY, 'Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min']);
    while (node && isElementwise(node) && node.opType !== 'Identity') {
      chain.unshift(node);
      v = node.inputs.find((i) => i && !constantOf(i));
      node = producedBy(v, [...UNARY, 'Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min']);
    }
    const inner = producedBy(v, 'Transpose');
    const x = inner?.inputs[0];
    const p1 = inner && permOf(inner);
    const p2 = permOf(root);
    if (!chain.length || !inner || !x || !p1 || !p2 || !isIdentity(compose(p1, p2))) return false;
    if (!isClosed([...chain, root], root)) return false;
    const region = isClosed([inner, ...chain, root], root) ? [inner, ...chain, root] : [...chain, root];
    fuseIntoChain(region, root, (b) => {
      let current = x;
      for (const n of chain) {
        const inputs = n.inputs.map((i) => (i === v ? current : i));
        v = n.outputs[0];
        [current] = b.op(n.opType, inputs, [...n.attributes.values()], [`${n.outputs[0].name}_untransposed`]);
      }
      return current;
    });
    return true;
  },
};

/** `c`, broadcast to rank `rank` with leading ones, then transposed by `perm`. */
function transposeConstant(c: Tensor, perm: readonly number[]): Tensor | undefined {
  const padded = c.reshape([...new Array<number>(perm.length - c.dims.length).fill(1), ...c.dims]);
  return evaluateNode(new Node({ opType: 'Transpose', attributes: { perm: [...perm] } }), [padded], 13)?.[0];
}

/**
 * Op(Transpose(y, p), c) → Transpose(Op(y, c'), p), c' the constant transposed back, when that
 * helps: y comes from a Conv (the constant can then fold into it) or a Transpose reads the result.
 */
const constantBeforeTranspose: Rewrite = {
  name: 'transpose-push-constant',
  roots: ['Add', 'Mul', 'Sub', 'Div'],
  apply(root) {
    const [a, b] = root.inputs;
    for (const [t, k, first] of [
      [a, b, true],
      [b, a, false],
    ] as const) {
      const transpose = producedBy(t, 'Transpose');
      const c = constantOf(k);
      const perm = transpose && permOf(transpose);
      const y = transpose?.inputs[0];
      if (!transpose || !c || !perm || !y || c.dims.length > perm.length || rankOf(t) !== perm.length) continue;
      const uses = root.outputs[0].uses();
      const helps = !!producedBy(y, 'Conv') || (uses.length > 0 && uses.every((u) => u.node.opType === 'Transpose'));
      if (!helps || !isClosed([transpose, root], root)) continue;
      const moved = transposeConstant(c, inverse(perm));
      if (!moved) return false;
      fuseIntoChain([transpose, root], root, (builder) => {
        const cv = builder.constant(`${k!.name}_transposed`, moved);
        const name = root.outputs[0].name;
        const [z] = builder.op(root.opType, first ? [y, cv] : [cv, y], {}, [`${name}_untransposed`]);
        return builder.op('Transpose', [z], { perm }, [`${name}_fused`])[0];
      });
      return true;
    }
    return false;
  },
};

/** Transpose cancellation, merging and the moves that let pairs meet. */
export const TRANSPOSE_REWRITES: readonly Rewrite[] = [transposePair, transposeThrough, constantBeforeTranspose];
