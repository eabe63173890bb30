/**
 * A per-channel scale or shift right after a Conv, folded into the Conv's weights and bias:
 * BatchNormalization exported as Mul + Add (PaddlePaddle's learnable affine blocks, Keras
 * layers folded by tf2onnx) and the bias Add tf2onnx writes after a bias-less Conv. The
 * constant must broadcast over the output channels only — shape [C,1,1], [1,C,1,1], [1] or a
 * scalar — or the Conv could not absorb it; onnxruntime's conv_mul_fusion.cc and
 * conv_add_fusion.cc check the same.
 */
import { GraphBuilder } from '../../ir/editing.js';
import type { Node } from '../../ir/node.js';
import type { Value } from '../../ir/value.js';
import { fromFloat64 } from '../../ops/numeric.js';
import type { Tensor } from '../../tensor/tensor.js';
import { constantOf, isClosed, producedBy } from './match.js';
import { fuseInto, type Rewrite } from './rewrite.js';

/** One value per output channel of a constant that broadcasts over channels only (rank-`rank` output). */
function perChannel(c: Tensor, channels: number, rank: number): Float64Array | undefined {
  if (c.dims.length > rank || !c.dtype.startsWith('float')) return undefined;
  const padded = [...new Array<number>(rank - c.dims.length).fill(1), ...c.dims];
  if (padded.some((d, i) => d !== 1 && !(i === 1 && d === channels))) return undefined;
  const values = c.toFloat64();
  return values.length === channels ? values : new Float64Array(channels).fill(values[0]);
}

/** The Conv and the constant of `root` (Conv output first for Sub and Div, either side for Mul and Add). */
function convOperand(root: Node): { conv: Node; c: Tensor } | undefined {
  const [a, b] = root.inputs;
  const commutes = root.opType === 'Mul' || root.opType === 'Add';
  const pairs: [Value | undefined, Value | undefined][] = commutes
    ? [
        [a, b],
        [b, a],
      ]
    : [[a, b]];
  for (const [y, k] of pairs) {
    const conv = producedBy(y, 'Conv');
    const c = constantOf(k);
    if (conv && c && conv.outputs.length === 1) return { conv, c };
  }
  return undefined;
}

/** Conv → Mul/Div/Add/Sub by a per-channel constant → one Conv with the weights and bias rewritten. */
const convAffine: Rewrite = {
  name: 'conv-affine',
  roots: ['Mul', 'Div', 'Add', 'Sub'],
  apply(root, { graph }) {
    const match = convOperand(root);
    if (!match) return false;
    const { conv, c } = match;
    const [x, w, b] = conv.inputs;
    const weight = constantOf(w);
    const bias = b ? constantOf(b) : undefined;
    if (!x || !weight || (b && !bias) || !weight.dtype.startsWith('float') || c.dtype !== weight.dtype) return false;
    if (!isClosed([conv, root], root)) return false;
    const channels = weight.dims[0];
    const k = perChannel(c, channels, weight.dims.length);
    if (!k || (root.opType === 'Div' && k.some((v) => v === 0))) return false;
    const scales = root.opType === 'Mul' ? k : root.opType === 'Div' ? k.map((v) => 1 / v) : undefined;
    const shifts = root.opType === 'Add' ? k : root.opType === 'Sub' ? k.map((v) => -v) : undefined;
    const wv = weight.toFloat64();
    const bv = bias ? bias.toFloat64() : new Float64Array(channels);
    if (scales) {
      const per = wv.length / channels;
      for (let o = 0; o < channels; o++) for (let j = 0; j < per; j++) wv[o * per + j] *= scales[o];
      for (let o = 0; o < channels; o++) bv[o] *= scales[o];
    } else for (let o = 0; o < channels; o++) bv[o] += shifts![o];
    // New initializers: a weight another node shares stays as it was.
    const builder = new GraphBuilder(graph);
    const nw = scales ? builder.constant(`${w!.name}_fused`, fromFloat64(weight.dtype, weight.dims, wv)) : w!;
    const nb = builder.constant(
      `${b?.name ?? `${conv.name || 'conv'}_bias`}_fused`,
      fromFloat64(weight.dtype, [channels], bv),
    );
    fuseInto([conv, root], root, 'Conv', [x, nw, nb], [...conv.attributes.values()]);
    return true;
  },
};

/** Per-channel Mul/Div/Add/Sub after a Conv, folded into it. */
export const CONV_REWRITES: readonly Rewrite[] = [convAffine];
