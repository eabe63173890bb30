/**
 * BatchNorm folding during quantization-aware training, as torch.ao's ConvBn QAT modules do it
 * (Jacob et al. 2018, section 3.2; Krishnamoorthi 2018, section 2.5): a Conv→BatchNormalization
 * pair that static quantization folded into one Conv trains as
 *
 *   f = γ / √(σ² + ε)                  (σ²: the running variance)
 *   y = Conv(x, fakeQuant(W · f))       (the folded weight, as the converted Conv holds it)
 *   z = y / f + b                       (the unfolded Conv's output)
 *   out = y + B̂ + (BN(z) − BNrunning(z)),   B̂ = fakeQuant(β + (b − μ)·f)
 *
 * BN(z) normalises with the batch's statistics (updating the running ones) for the first steps
 * and with the running ones, frozen, after; BNrunning(z) is the same normalization with the
 * running statistics, computed op for op as the executor's inference BatchNormalization, so once
 * frozen the correction is exactly 0 and `out` is the converted Conv's output, bias rounding
 * included. Before, `out` is the batch-normalized output (torch.ao's) up to the bias rounding.
 * Converting writes W·f and β + (b − μ)·f into the QDQ model's folded Conv: the
 * BatchNormalization is gone, its learned parameters and statistics in the weights.
 */
import { GraphBuilder, Tensor, type FoldedBatchNorm, type Graph, type Node, type Value } from '@edgeml/core';

/** A fold trained apart: where its parameters live in the training graph, and where its folded form goes. */
export interface TrainedFold {
  /** The float latent of the folded weight (the QuantizeLinear's input before the rewrite). */
  foldedWeight: string;
  /** The folded bias: a float latent (fake-quantized to int32, re-quantized at conversion), or a float initializer; none: no bias. */
  foldedBias?: string;
  weight: string;
  bias: string;
  scale: string;
  shift: string;
  mean: string;
  variance: string;
  epsilon: number;
}

const copy = (t: Tensor) => Tensor.from('float32', [...t.dims], Float32Array.from(t.toFloat64()));

/** The Conv of the training graph a fold names (by node name, else by output name). */
function convOf(graph: Graph, fold: FoldedBatchNorm): Node | undefined {
  const byName = fold.node ? graph.nodes.find((n) => n.name === fold.node && n.opType === 'Conv') : undefined;
  return byName ?? graph.nodes.find((n) => n.opType === 'Conv' && n.outputs[0]?.name === fold.output);
}

/** The QuantizeLinear that fake-quantizes a Conv's bias to int32 (see asFloatBias), if the bias is one. */
function biasQuantizer(bias: Value | undefined): Node | undefined {
  const dq = bias?.producer();
  const q = dq?.opType === 'DequantizeLinear' ? dq.inputs[0]?.producer() : undefined;
  return q?.opType === 'QuantizeLinear' && q.inputs[0]?.const ? q : undefined;
}

/**
 * Rewrite the folded Conv `fold` names into the trained pair. The Conv's weight must be a
 * fake-quantized latent (`latents` names them), its bias fake-quantized to int32, a float
 * constant or absent, and its output no graph output; otherwise it stays folded (undefined:
 * its folded weight trains). The pair's output is `y + B̂ + (BN(z) − BNrunning(z))` for
 * z = y/f + b, the folded bias B = β + (b − μ)·f (B̂: fake-quantized to int32 when the bias
 * is): with batch statistics the batch-normalized output (up to B̂ − B), frozen the
 * correction is exactly 0 and the output the converted Conv's, y + B̂.
 */
export function trainFoldApart(graph: Graph, fold: FoldedBatchNorm, latents: Set<string>): TrainedFold | undefined {
  const conv = convOf(graph, fold);
  const dq = conv?.inputs[1]?.producer();
  const q = dq?.opType === 'DequantizeLinear' ? dq.inputs[0]?.producer() : undefined;
  const latent = q?.opType === 'QuantizeLinear' ? q.inputs[0] : undefined;
  const y = conv?.outputs[0];
  const bias = conv?.inputs[2];
  const biasQ = biasQuantizer(bias);
  if (!conv || !q || !latent || !latents.has(latent.name) || !y || graph.outputs.includes(y)) return undefined;
  if (bias && !bias.const && !biasQ) return undefined;
  const channels = fold.scale.size;
  const rank = fold.weight.dims.length;
  if (fold.weight.dims.join() !== latent.const?.dims.join() || rank < 3) return undefined;
  const rw = new GraphBuilder(graph, `${conv.name || 'Conv'}_bn`);
  const base = conv.name || y.name;
  const constant = (what: string, t: Tensor) => rw.constant(`${base}_${what}`, copy(t));
  const weight = constant('weight', fold.weight);
  const convBias = constant('bias', fold.bias ?? Tensor.from('float32', [channels], new Float32Array(channels)));
  const [scale, shift, mean, variance] = [
    constant('bn_scale', fold.scale),
    constant('bn_shift', fold.shift),
    constant('bn_mean', fold.mean),
    constant('bn_variance', fold.variance),
  ];
  const shape = (dims: number[]) =>
    rw.constant(
      `${base}_shape`,
      Tensor.from(
        'int64',
        [dims.length],
        dims.map((d) => BigInt(d)),
      ),
    );
  const perWeight = shape([channels, ...Array<number>(rank - 1).fill(1)]);
  const perOutput = shape([1, channels, ...Array<number>(rank - 2).fill(1)]);
  const eps = rw.constant(`${base}_bn_epsilon`, Tensor.from('float32', [], [fold.epsilon]));
  // f = γ / √(σ² + ε), from the running variance (frozen or not), as torch.ao's _ConvBnNd does.
  const [std] = rw.op('Sqrt', rw.op('Add', [variance, eps]));
  const [factor] = rw.op('Div', [scale, std]);
  const [folded] = rw.op('Mul', [weight, rw.op('Reshape', [factor, perWeight])[0]]);
  const [foldedBias] = rw.op('Add', [shift, rw.op('Mul', [rw.op('Sub', [convBias, mean])[0], factor])[0]]);
  const biasLatent = biasQ ? biasQ.inputs[0]!.name : bias?.name;
  const first = biasQ && graph.nodes.indexOf(biasQ) < graph.nodes.indexOf(q) ? biasQ : q;
  rw.insertBefore(first);
  q.setInput(0, folded);
  biasQ?.setInput(0, foldedBias);
  const readers = y.uses();
  const perChannel = (v: Value) => rw.op('Reshape', [v, perOutput])[0];
  const [unscaled] = rw.op('Div', [y, perChannel(factor)]);
  const [biased] = rw.op('Add', [unscaled, perChannel(convBias)]);
  const [normalized] = rw.op('BatchNormalization', [biased, scale, shift, mean, variance], {
    epsilon: fold.epsilon,
    momentum: fold.momentum,
  });
  // The same normalization with the running statistics, op for op as the executor computes it in
  // inference: frozen (or in inference) the two are equal to the bit and the correction is 0.
  const [centred] = rw.op('Sub', [biased, perChannel(mean)]);
  const [deviation] = rw.op('Sqrt', rw.op('Add', [perChannel(variance), eps]));
  const [scaled] = rw.op('Mul', [rw.op('Div', [centred, deviation])[0], perChannel(scale)]);
  const [running] = rw.op('Add', [scaled, perChannel(shift)]);
  const [correction] = rw.op('Sub', [normalized, running]);
  const [withBias] = rw.op('Add', [y, perChannel(biasQ ? bias! : foldedBias)]);
  const [out] = rw.op('Add', [withBias, correction]);
  let anchor: Node = conv;
  for (const n of [...rw.nodes]) anchor = graph.insertAfter(anchor, n);
  for (const r of readers) r.node.setInput(r.index, out);
  if (bias) conv.setInput(2, undefined);
  return {
    foldedWeight: latent.name,
    foldedBias: biasLatent,
    ...names({ weight, bias: convBias, scale, shift, mean, variance }),
    epsilon: fold.epsilon,
  };
}

const names = <K extends string>(values: Record<K, Value>) =>
  Object.fromEntries(Object.entries(values).map(([k, v]) => [k, (v as Value).name])) as Record<K, string>;

/**
 * The folded weight W·f and bias β + (b − μ)·f of each trained pair, from the learned values,
 * in float32 step by step as the training graph computes f (so a weight on a rounding tie
 * rounds as the fake quantization did).
 */
export function foldedParameters(
  folds: readonly TrainedFold[],
  learned: Record<string, Tensor>,
): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const fold of folds) {
    const [w, b, gamma, beta, mean, variance] = [
      fold.weight,
      fold.bias,
      fold.scale,
      fold.shift,
      fold.mean,
      fold.variance,
    ].map((name) => learned[name].toFloat64());
    const eps = Math.fround(fold.epsilon);
    const factor = Float32Array.from(gamma, (g, c) =>
      Math.fround(g / Math.fround(Math.sqrt(Math.fround(variance[c] + eps)))),
    );
    const per = w.length / factor.length;
    const dims = [...learned[fold.weight].dims];
    out[fold.foldedWeight] = Tensor.from(
      'float32',
      dims,
      Float32Array.from(w, (v, i) => v * factor[Math.floor(i / per)]),
    );
    if (fold.foldedBias)
      out[fold.foldedBias] = Tensor.from(
        'float32',
        [factor.length],
        Float32Array.from(factor, (f, c) => beta[c] + (b[c] - mean[c]) * f),
      );
  }
  return out;
}
