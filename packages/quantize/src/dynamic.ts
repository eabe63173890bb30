/**
 * Dynamic quantization: weights to int8/uint8 ahead of time, activations quantized at run
 * time by DynamicQuantizeLinear. Emits the pattern onnxruntime fuses into
 * DynamicQuantizeMatMul / MatMulIntegerToFloat / ConvInteger kernels:
 *
 *   x ─ DynamicQuantizeLinear ─ MatMulInteger(x_q, W_q, x_zp, W_zp) ─ Cast(float) ─ Mul(x_scale·W_scale) [─ Add(bias)]
 */
import {
  isDefaultDomain,
  GraphBuilder,
  replaceNode,
  InvalidArgumentError,
  Tensor,
  eliminateDeadCode,
  UnsupportedOpError,
  opAttributes,
  type Graph,
  type Model,
  type Node,
  type Value,
  type OpName,
} from '@edgeml/core';
import { quantizeWeight, transposeLastTwo, type QuantizedWeight } from './quant-params.js';
import { isExcluded, type Exclusion, type NodeOutcome } from './select.js';

export interface DynamicQuantizeOptions {
  /** Weight type (default int8, symmetric; uint8 is asymmetric). */
  weightType?: 'int8' | 'uint8';
  /** One scale per output channel instead of per tensor (default false). */
  perChannel?: boolean;
  /** 7-bit weights, for CPUs without VNNI where 8-bit products can saturate (default false). */
  reduceRange?: boolean;
  /**
   * Op types to quantize (default MatMul, Gemm, Gather — embedding tables become 8-bit,
   * dequantized after the lookup — LSTM, as onnxruntime's DynamicQuantizeLSTM, and GRU, whose
   * W and R are stored 8-bit and dequantized before a float GRU, since onnxruntime has no
   * quantized GRU kernel: smaller, not faster). Conv is available, but onnxruntime's
   * ConvInteger kernel is slow: measured 5x slower than float on a CNN here (see
   * docs/benchmarks.md); quantize convolutional models statically instead.
   */
  opTypes?: readonly ('MatMul' | 'Gemm' | 'Conv' | 'Gather' | 'LSTM' | 'GRU')[];
  /** Nodes to keep in float. */
  exclude?: Exclusion;
}

export interface DynamicQuantizeResult {
  quantized: NodeOutcome[];
  skipped: NodeOutcome[];
}

const DEFAULT_OPS = ['MatMul', 'Gemm', 'Gather', 'LSTM', 'GRU'] as const satisfies readonly OpName[];
const FLOAT_WEIGHT = (v: Value | undefined): v is Value => !!v?.const && v.const.dtype === 'float32' && !v.isGraphInput;

const DYNAMIC_OPS: readonly OpName[] = ['MatMul', 'Gemm', 'Conv', 'Gather', 'LSTM', 'GRU'];

/** Option checks that need no model: weight type and op types. */
export function validateDynamicOptions(options: DynamicQuantizeOptions): void {
  const weightType = options.weightType ?? 'int8';
  if (weightType !== 'int8' && weightType !== 'uint8')
    throw new InvalidArgumentError(
      `weightType must be int8 or uint8 for dynamic quantization, got '${weightType}'`,
      'weightType',
    );
  for (const op of options.opTypes ?? [])
    if (!DYNAMIC_OPS.includes(op))
      throw new InvalidArgumentError(
        `opTypes for dynamic quantization take ${DYNAMIC_OPS.join(', ')}; got '${op as string}'`,
        'opTypes',
      );
}

/**
 * Quantize a model dynamically, in place, in every graph (subgraphs included).
 *
 * @example
 * ```ts
 * const { quantized, skipped } = quantizeDynamic(model, { perChannel: true });
 * ```
 */
export function quantizeDynamic(model: Model, options: DynamicQuantizeOptions = {}): DynamicQuantizeResult {
  const opset = model.opset() ?? 0;
  if (opset < 11)
    throw new UnsupportedOpError(
      'DynamicQuantizeLinear',
      '',
      opset,
      `dynamic quantization needs ONNX opset 11 or later (DynamicQuantizeLinear); this model imports opset ${opset}. quantize() converts it; here, convertOpset(model, 11) first.`,
    );
  validateDynamicOptions(options);
  const weightType = options.weightType ?? 'int8';
  const ops = new Set<string>(options.opTypes ?? DEFAULT_OPS);
  const result: DynamicQuantizeResult = { quantized: [], skipped: [] };
  for (const graph of [...model.graphs()]) {
    const ctx: Ctx = {
      model,
      graph,
      options: { ...options, weightType },
      weights: new Map(),
      activations: new Map(),
    };
    for (const node of graph.nodes) {
      if (!ops.has(node.opType) || !isDefaultDomain(node)) continue;
      const outcome = { name: node.name, opType: node.opType };
      if (isExcluded(node, options.exclude)) {
        result.skipped.push({ ...outcome, reason: 'excluded by the caller' });
        continue;
      }
      const reason = quantizeNode(ctx, node);
      if (reason) result.skipped.push({ ...outcome, reason });
      else result.quantized.push(outcome);
    }
  }
  // The float weights the quantized nodes replaced are no longer read (in any scope).
  eliminateDeadCode(model.graph);
  return result;
}

interface Ctx {
  model: Model;
  graph: Graph;
  options: DynamicQuantizeOptions & { weightType: 'int8' | 'uint8' };
  /** Quantized weights by source value and layout, shared between nodes that read the same weight. */
  weights: Map<string, { q: Value; scale: Value; zp: Value; w: QuantizedWeight }>;
  /** DynamicQuantizeLinear outputs per activation, so one activation is quantized once. */
  activations: Map<Value, [Value, Value, Value]>;
}

function quantizeNode(ctx: Ctx, node: Node): string | undefined {
  if (node.opType === 'Gather') return quantizeGather(ctx, node);
  if (node.opType === 'LSTM') return quantizeLstm(ctx, node);
  if (node.opType === 'GRU') return quantizeGruWeights(ctx, node);
  const x = node.inputs[0];
  if (!x || (x.dtype !== undefined && x.dtype !== 'float32')) return 'input is not float32';
  switch (node.opType) {
    case 'MatMul':
      return quantizeMatMul(ctx, node, x);
    case 'Gemm':
      return quantizeGemm(ctx, node, x);
    case 'Conv':
      return quantizeConv(ctx, node, x);
  }
  return 'no dynamic form';
}

function dynamicInput(ctx: Ctx, rw: GraphBuilder, x: Value): [Value, Value, Value] {
  let q = ctx.activations.get(x);
  if (!q) {
    q = rw.op('DynamicQuantizeLinear', [x], {}, [`${x.name}_quantized`, `${x.name}_scale`, `${x.name}_zero_point`]) as [
      Value,
      Value,
      Value,
    ];
    ctx.activations.set(x, q);
  }
  return q;
}

function weightFor(ctx: Ctx, rw: GraphBuilder, w: Value, key: string, tensor: Tensor, axis: number | undefined) {
  const id = `${w.name}|${key}`;
  let entry = ctx.weights.get(id);
  if (!entry) {
    const { weightType, reduceRange } = ctx.options;
    const qw = quantizeWeight(tensor, { type: weightType, symmetric: weightType === 'int8', reduceRange, axis });
    entry = {
      q: rw.constant(`${w.name}_quantized`, qw.quantized),
      scale: rw.constant(`${w.name}_scale`, qw.scale),
      zp: rw.constant(`${w.name}_zero_point`, qw.zeroPoint),
      w: qw,
    };
    ctx.weights.set(id, entry);
  }
  return entry;
}

function quantizeMatMul(ctx: Ctx, node: Node, x: Value): string | undefined {
  const w = node.inputs[1];
  if (!FLOAT_WEIGHT(w)) return 'weight (input 1) is not a float32 constant';
  if (w.const!.dims.length !== 2) return `weight has rank ${w.const!.dims.length}; only 2-D weights are quantized`;
  const rw = new GraphBuilder(ctx.graph, node.name || node.opType);
  const [xq, xs, xzp] = dynamicInput(ctx, rw, x);
  const qw = weightFor(ctx, rw, w, 'KxN', w.const!, ctx.options.perChannel ? 1 : undefined);
  const [acc] = rw.op('MatMulInteger', [xq, qw.q, xzp, qw.zp], {}, [`${node.outputs[0].name}_int32`]);
  const [accf] = rw.op('Cast', [acc], { to: 1 }, [`${node.outputs[0].name}_float`]);
  const [scale] = rw.op('Mul', [xs, qw.scale], {}, [`${node.outputs[0].name}_scale`]);
  const [out] = rw.op('Mul', [accf, scale], {}, [`${node.outputs[0].name}_dq`]);
  replaceNode(node, rw.nodes, [out]);
  return undefined;
}

function transpose2d(t: Tensor): Tensor {
  const [r, c] = t.dims;
  return Tensor.from('float32', [c, r], transposeLastTwo(t.data as Float32Array, 1, r, c));
}

function quantizeGemm(ctx: Ctx, node: Node, x: Value): string | undefined {
  const a = opAttributes(node, 'Gemm');
  if (a.transA) return 'transA=1 is not quantized (the activation would need a transpose)';
  const w = node.inputs[1];
  if (!FLOAT_WEIGHT(w)) return 'weight (input 1) is not a float32 constant';
  const c = node.inputs[2];
  if (c && !FLOAT_WEIGHT(c)) return 'bias (input 2) is not a float32 constant';
  const rw = new GraphBuilder(ctx.graph, node.name || node.opType);
  const [xq, xs, xzp] = dynamicInput(ctx, rw, x);
  const kxn = a.transB ? transpose2d(w.const!) : w.const!;
  const qw = weightFor(ctx, rw, w, a.transB ? 'NxK^T' : 'KxN', kxn, ctx.options.perChannel ? 1 : undefined);
  const name = node.outputs[0].name;
  const [acc] = rw.op('MatMulInteger', [xq, qw.q, xzp, qw.zp], {}, [`${name}_int32`]);
  const [accf] = rw.op('Cast', [acc], { to: 1 }, [`${name}_float`]);
  const alpha = a.alpha ?? 1,
    beta = a.beta ?? 1;
  let scale = rw.op('Mul', [xs, qw.scale], {}, [`${name}_scale`])[0];
  if (alpha !== 1)
    scale = rw.op('Mul', [scale, rw.constant(`${name}_alpha`, Tensor.from('float32', [], [alpha]))], {}, [
      `${name}_scale_alpha`,
    ])[0];
  let [out] = rw.op('Mul', [accf, scale], {}, [`${name}_dq`]);
  if (c) {
    const bias =
      beta === 1
        ? c
        : rw.constant(
            `${c.name}_beta`,
            Tensor.from(
              'float32',
              c.const!.dims,
              Float32Array.from(c.const!.data as Float32Array, (v) => v * beta),
            ),
          );
    [out] = rw.op('Add', [out, bias], {}, [`${name}_biased`]);
  }
  replaceNode(node, rw.nodes, [out]);
  return undefined;
}

function quantizeConv(ctx: Ctx, node: Node, x: Value): string | undefined {
  const w = node.inputs[1];
  if (!FLOAT_WEIGHT(w)) return 'weight (input 1) is not a float32 constant';
  const b = node.inputs[2];
  if (b && !FLOAT_WEIGHT(b)) return 'bias (input 2) is not a float32 constant';
  const dims = w.const!.dims;
  const rw = new GraphBuilder(ctx.graph, node.name || node.opType);
  const [xq, xs, xzp] = dynamicInput(ctx, rw, x);
  // onnxruntime's ConvInteger takes only a scalar weight zero point: per-channel needs
  // symmetric int8 weights (all zero points 0, one scalar 0 stands for them).
  const perChannel = ctx.options.perChannel && ctx.options.weightType === 'int8';
  const qw = weightFor(ctx, rw, w, perChannel ? 'conv' : 'conv-tensor', w.const!, perChannel ? 0 : undefined);
  const zp = qw.w.axis === undefined ? qw.zp : rw.constant(`${w.name}_zero_point_scalar`, Tensor.from('int8', [], [0]));
  const name = node.outputs[0].name;
  const keep = [...node.attributes.values()].filter((a) => a.name !== 'kernel_shape' || a.value !== undefined);
  const [acc] = rw.op('ConvInteger', [xq, qw.q, xzp, zp], keep, [`${name}_int32`]);
  const [accf] = rw.op('Cast', [acc], { to: 1 }, [`${name}_float`]);
  // Per-channel scales broadcast over [N, C, spatial...].
  const bshape = [1, dims[0], ...dims.slice(2).map(() => 1)];
  let wscale = qw.scale;
  if (qw.w.axis !== undefined) wscale = rw.constant(`${w.name}_scale_nchw`, qw.w.scale.reshape(bshape));
  const [scale] = rw.op('Mul', [xs, wscale], {}, [`${name}_scale`]);
  let [out] = rw.op('Mul', [accf, scale], {}, [`${name}_dq`]);
  if (b) [out] = rw.op('Add', [out, rw.constant(`${b.name}_nchw`, b.const!.reshape(bshape))], {}, [`${name}_biased`]);
  replaceNode(node, rw.nodes, [out]);
  return undefined;
}

/** Embedding lookups: the table is stored 8-bit, rows are gathered, then dequantized (per-tensor scale). */
function quantizeGather(ctx: Ctx, node: Node): string | undefined {
  const table = node.inputs[0];
  if (!FLOAT_WEIGHT(table)) return 'data (input 0) is not a float32 constant';
  if (node.attr('axis', 'int', 0) !== 0) return 'only axis 0 lookups are quantized';
  const rw = new GraphBuilder(ctx.graph, node.name || node.opType);
  const qw = weightFor(ctx, rw, table, 'gather', table.const!, undefined);
  const name = node.outputs[0].name;
  const [rows] = rw.op('Gather', [qw.q, node.inputs[1]], { axis: 0 }, [`${name}_quantized`]);
  const [out] = rw.op('DequantizeLinear', [rows, qw.scale, qw.zp], {}, [`${name}_dq`]);
  replaceNode(node, rw.nodes, [out]);
  return undefined;
}

/** Per direction: [D, rows, cols] → [D, cols, rows] (ONNX LSTM keeps gates first; DynamicQuantizeLSTM wants them last). */
function transposeLast2(t: Tensor): Tensor {
  const [d, r, c] = t.dims;
  return Tensor.from('float32', [d, c, r], transposeLastTwo(t.data as Float32Array, d, r, c));
}

/** Quantize each direction of a [D, rows, 4H] weight on its own: scales [D] or [D, 4H]. */
function quantizePerDirection(t: Tensor, options: Ctx['options']): { q: Tensor; scale: Tensor; zp: Tensor } {
  const [d, rows, cols] = t.dims;
  const parts = Array.from({ length: d }, (_, k) =>
    quantizeWeight(
      Tensor.from('float32', [rows, cols], (t.data as Float32Array).subarray(k * rows * cols, (k + 1) * rows * cols)),
      {
        type: options.weightType,
        symmetric: options.weightType === 'int8',
        reduceRange: options.reduceRange,
        axis: options.perChannel ? 1 : undefined,
      },
    ),
  );
  const join = (ts: Tensor[], dims: number[]) => {
    const bytes = new Uint8Array(ts.reduce((n, x) => n + x.byteLength, 0));
    let o = 0;
    for (const x of ts) {
      bytes.set(x.bytes, o);
      o += x.byteLength;
    }
    return Tensor.fromBytes(ts[0].dtype, dims, bytes);
  };
  const per = options.perChannel ? [d, cols] : [d];
  return {
    q: join(
      parts.map((p) => p.quantized),
      [d, rows, cols],
    ),
    scale: join(
      parts.map((p) => p.scale),
      per,
    ),
    zp: join(
      parts.map((p) => p.zeroPoint),
      per,
    ),
  };
}

/** LSTM → com.microsoft DynamicQuantizeLSTM with 8-bit W and R (activations quantized inside the kernel). */
function quantizeLstm(ctx: Ctx, node: Node): string | undefined {
  const [x, w, r, b, seqLens, h0, c0, p] = node.inputs;
  if (!x || (x.dtype !== undefined && x.dtype !== 'float32')) return 'input is not float32';
  if (!FLOAT_WEIGHT(w) || !FLOAT_WEIGHT(r)) return 'W or R is not a float32 constant';
  if (node.attr('layout', 'int', 0) !== 0) return 'layout=1 (batch first) has no DynamicQuantizeLSTM form';
  if (!ctx.model.opsetImports.has('com.microsoft')) ctx.model.opsetImports.set('com.microsoft', 1);
  const rw = new GraphBuilder(ctx.graph, node.name || node.opType);
  const qw = quantizePerDirection(transposeLast2(w.const!), ctx.options);
  const qr = quantizePerDirection(transposeLast2(r.const!), ctx.options);
  const inputs = [
    x,
    rw.constant(`${w.name}_quantized`, qw.q),
    rw.constant(`${r.name}_quantized`, qr.q),
    b,
    seqLens,
    h0,
    c0,
    p,
    rw.constant(`${w.name}_scale`, qw.scale),
    rw.constant(`${w.name}_zero_point`, qw.zp),
    rw.constant(`${r.name}_scale`, qr.scale),
    rw.constant(`${r.name}_zero_point`, qr.zp),
  ];
  const outs = rw.op(
    'DynamicQuantizeLSTM',
    inputs,
    [...node.attributes.values()].filter((a) => a.name !== 'layout'),
    node.outputs.map((o, i) => `${o.name || node.name}_q${i}`),
    'com.microsoft',
  );
  replaceNode(node, rw.nodes, outs);
  return undefined;
}

/**
 * GRU: onnxruntime has no quantized GRU kernel, so W and R are stored 8-bit (per gate row when
 * per-channel) and dequantized in front of the float GRU: 4× smaller weights, float speed.
 */
function quantizeGruWeights(ctx: Ctx, node: Node): string | undefined {
  const [, w, r] = node.inputs;
  if (!FLOAT_WEIGHT(w) || !FLOAT_WEIGHT(r)) return 'W or R is not a float32 constant';
  const opset = ctx.model.opset() ?? 0;
  const perChannel = !!ctx.options.perChannel && opset >= 13;
  const rw = new GraphBuilder(ctx.graph, node.name || node.opType);
  for (const [index, v] of [
    [1, w],
    [2, r],
  ] as const) {
    // Axis 1 is the 3·hidden gate rows: one scale per row keeps small gates precise.
    const qw = quantizeWeight(v.const!, {
      type: ctx.options.weightType,
      symmetric: ctx.options.weightType === 'int8',
      reduceRange: ctx.options.reduceRange,
      axis: perChannel ? 1 : undefined,
    });
    const [dq] = rw.op(
      'DequantizeLinear',
      [
        rw.constant(`${v.name}_quantized`, qw.quantized),
        rw.constant(`${v.name}_scale`, qw.scale),
        rw.constant(`${v.name}_zero_point`, qw.zeroPoint),
      ],
      perChannel ? { axis: 1 } : {},
      [`${v.name}_dequantized`],
    );
    node.setInput(index, dq);
  }
  rw.insertBefore(node);
  return undefined;
}
