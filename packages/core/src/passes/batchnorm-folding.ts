import { isDefaultDomain } from '../ops/op-schema.js';
import type { Graph } from '../ir/graph.js';
import type { Node } from '../ir/node.js';
import type { Value } from '../ir/value.js';
import type { Tensor } from '../tensor/tensor.js';
import { fromFloat64 } from '../ops/numeric.js';
import type { Pass } from './pass.js';
import { Op, isOp, opAttributes } from '../ops/op-schema.js';

const isConst = (v: Value | undefined, g: Graph): v is Value =>
  !!v?.const && !g.inputs.includes(v) && v.const.dtype.startsWith('float');

/** Per-channel factor s = scale / sqrt(var + eps) and shift t = bias - mean * s of an inference BatchNormalization. */
function bnAffine(bn: Node, g: Graph): { s: Float64Array; t: Float64Array } | undefined {
  const [, scale, bias, mean, variance] = bn.inputs;
  if (![scale, bias, mean, variance].every((v) => isConst(v, g))) return undefined;
  if (bn.outputs.length > 1 && bn.outputs.slice(1).some((o) => o.name && (o.uses().length || g.outputs.includes(o))))
    return undefined;
  const { training_mode: training = 0, epsilon: eps = 1e-5 } = opAttributes(bn, 'BatchNormalization');
  if (training !== 0) return undefined;
  const [sc, bi, me, va] = [scale, bias, mean, variance].map((v) => v!.const!.toFloat64());
  const s = sc.map((x, i) => x / Math.sqrt(va[i] + eps));
  const t = bi.map((b, i) => b - me[i] * s[i]);
  return { s, t };
}

/** A constant for the rewritten node: a new initializer, so weights shared with other nodes stay as they were. */
function newConst(g: Graph, base: string, like: Tensor, dims: readonly number[], values: Float64Array): Value {
  const t = fromFloat64(like.dtype, dims, values);
  const name = g.uniqueName(`${base}_bnfolded`);
  t.name = name;
  return g.addInitializer(name, t);
}

function foldIntoConv(conv: Node, g: Graph, aff: { s: Float64Array; t: Float64Array }): boolean {
  const [, W, B] = conv.inputs;
  if (!isConst(W, g) || (B && !isConst(B, g))) return false;
  const w = W.const!;
  const outC = conv.opType === 'ConvTranspose' ? w.dims[1] * conv.attr('group', 'int', 1) : w.dims[0];
  if (aff.s.length !== outC) return false;
  const wv = w.toFloat64();
  if (conv.opType === 'Conv') {
    const per = wv.length / outC;
    for (let o = 0; o < outC; o++) for (let j = 0; j < per; j++) wv[o * per + j] *= aff.s[o];
  } else {
    const group = conv.attr('group', 'int', 1);
    const [cin, coutPerGroup] = [w.dims[0], w.dims[1]];
    const inner = wv.length / (cin * coutPerGroup);
    const cinPerGroup = cin / group;
    for (let c = 0; c < cin; c++) {
      const grp = Math.floor(c / cinPerGroup);
      for (let o = 0; o < coutPerGroup; o++)
        for (let j = 0; j < inner; j++) wv[(c * coutPerGroup + o) * inner + j] *= aff.s[grp * coutPerGroup + o];
    }
  }
  const bv = B ? B.const!.toFloat64() : new Float64Array(outC);
  const nb = bv.map((b, o) => b * aff.s[o] + aff.t[o]);
  conv.setInput(1, newConst(g, W.name, w, w.dims, wv));
  conv.setInput(2, newConst(g, B?.name ?? `${conv.name || 'conv'}_bias`, w, [outC], nb));
  return true;
}

function foldIntoGemm(gemm: Node, bn: Node, g: Graph, aff: { s: Float64Array; t: Float64Array }): boolean {
  const [, Bv, C] = gemm.inputs;
  if (!isConst(Bv, g) || (C && !isConst(C, g))) return false;
  const b = Bv.const!;
  const transB = gemm.attr('transB', 'int', 0) === 1;
  const [rows, cols] = b.dims;
  const n = transB ? rows : cols;
  if (aff.s.length !== n || bn.inputs[0]?.shape?.length !== 2) return false;
  const bvals = b.toFloat64();
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) bvals[r * cols + c] *= aff.s[transB ? r : c];
  const alpha = gemm.attr('alpha', 'float', 1),
    beta = gemm.attr('beta', 'float', 1);
  // C may be a scalar, [N] or [1, N]; a per-row C ([M, 1] or [M, N]) cannot be folded per channel.
  const cvals = C?.const ? C.const.toFloat64() : new Float64Array(1);
  if (C?.const && C.const.dims.length === 2 && C.const.dims[0] !== 1) return false;
  const nc = new Float64Array(n).map((_, j) => beta * (cvals.length === 1 ? cvals[0] : cvals[j]) * aff.s[j] + aff.t[j]);
  gemm.setInput(
    1,
    newConst(
      g,
      Bv.name,
      b,
      b.dims,
      bvals.map((x) => x * alpha),
    ),
  );
  gemm.setInput(2, newConst(g, C?.name ?? `${gemm.name || 'gemm'}_bias`, b, [n], nc));
  gemm.setAttr('alpha', 'float', 1);
  gemm.setAttr('beta', 'float', 1);
  return true;
}

/**
 * What one fold removed: the node's weights before folding and the BatchNormalization's
 * parameters. Quantization-aware training reads it to train with the normalization apart
 * (batch statistics, then frozen ones) while converting to the folded node.
 */
export interface FoldedBatchNorm {
  /** The node folded into (kept, with the folded weights), by name and by its output's name. */
  node: string;
  output: string;
  opType: 'Conv' | 'ConvTranspose' | 'Gemm';
  /** Its weight and bias before the fold (no bias: none). */
  weight: Tensor;
  bias?: Tensor;
  /** The BatchNormalization's name, γ, β, running mean and variance, epsilon and momentum. */
  batchNorm: string;
  scale: Tensor;
  shift: Tensor;
  mean: Tensor;
  variance: Tensor;
  epsilon: number;
  momentum: number;
}

function foldRecord(prod: Node, bn: Node): FoldedBatchNorm {
  const { epsilon = 1e-5, momentum = 0.9 } = opAttributes(bn, 'BatchNormalization');
  const [scale, shift, mean, variance] = bn.inputs.slice(1, 5).map((v) => v!.const!);
  return {
    node: prod.name,
    output: prod.outputs[0].name,
    opType: prod.opType as FoldedBatchNorm['opType'],
    weight: prod.inputs[1]!.const!,
    bias: prod.inputs[2]?.const,
    batchNorm: bn.name,
    scale,
    shift,
    mean,
    variance,
    epsilon,
    momentum,
  };
}

/**
 * Fold inference-mode BatchNormalization into the Conv, ConvTranspose or Gemm before it
 * (when that node's output feeds only the BatchNormalization): the weights are scaled per
 * output channel and the bias absorbs the shift, so the BatchNormalization disappears.
 * Each fold is pushed on `folds` when given (what it removed, see {@link FoldedBatchNorm}).
 */
export function foldBatchNorms(graph: Graph, folds?: FoldedBatchNorm[]): number {
  let folded = 0;
  for (const bn of graph) {
    if (!isOp(bn, Op.BatchNormalization)) continue;
    const x = bn.inputs[0];
    const prod = x?.producer();
    if (
      !x ||
      !prod ||
      prod.graph !== graph ||
      !['Conv', 'ConvTranspose', 'Gemm'].includes(prod.opType) ||
      !isDefaultDomain(prod)
    )
      continue;
    if (x.uses().length !== 1 || graph.outputs.includes(x)) continue;
    const aff = bnAffine(bn, graph);
    if (!aff) continue;
    const record = folds && foldRecord(prod, bn);
    const ok = prod.opType === 'Gemm' ? foldIntoGemm(prod, bn, graph, aff) : foldIntoConv(prod, graph, aff);
    if (!ok) continue;
    const y = bn.outputs[0];
    if (record) folds.push({ ...record, output: graph.outputs.includes(y) ? y.name : record.output });
    if (graph.outputs.includes(y)) {
      // Keep the graph output's name: the folded node now produces it.
      bn.clearInputs();
      graph.remove(bn, { safe: false });
      const old = prod.replaceOutput(0, y);
      y.type = y.type ?? old.type;
    } else {
      y.replaceAllUsesWith(x);
      graph.remove(bn, { safe: false });
    }
    folded++;
  }
  return folded;
}

export function batchNormFolding(): Pass {
  return {
    name: 'batchnorm-folding',
    inPlace: true,
    run: (model) => ({ model, modified: foldBatchNorms(model.graph) > 0 }),
  };
}
