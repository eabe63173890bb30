/**
 * 4-bit weight-only quantization of MatMul (and Gemm without transA) weights, block-wise
 * along K, and of Gather embedding tables (blocks along each row, QDQ form), round to
 * nearest. Two forms:
 * - `matmulnbits`: onnxruntime's com.microsoft MatMulNBits (B [N, blocks, blockSize/2] uint8,
 *   codes packed low nibble first, scales [N·blocks], zero points packed two per byte);
 * - `qdq`: a blocked DequantizeLinear (int4/uint4 weight, opset 21) feeding the MatMul.
 */
import {
  isDefaultDomain,
  GraphBuilder,
  replaceNode,
  InvalidArgumentError,
  Tensor,
  UnsupportedOpError,
  eliminateDeadCode,
  opAttributes,
  type Model,
  type Node,
  type Value,
} from '@edgeml/core';
import { roundHalfEven, transposeLastTwo } from './quant-params.js';
import { hqqBlocks, type HqqParams } from './hqq.js';
import { isExcluded, type Exclusion, type NodeOutcome } from './select.js';

export interface Int4Options {
  /** Elements of K sharing one scale (power of two, at least 16; default 32). */
  blockSize?: number;
  /** Symmetric codes around 8 (no zero-point tensor), or asymmetric with per-block zero points (default symmetric). */
  symmetric?: boolean;
  /** Output form (default matmulnbits). */
  format?: 'matmulnbits' | 'qdq';
  /**
   * How codes are chosen: round to nearest (default), or HQQ, which refines each block's zero
   * point to fit the weights better (asymmetric, float zero points: MatMulNBits form only).
   */
  algorithm?: 'rtn' | 'hqq';
  /** HQQ solver settings. */
  hqq?: HqqParams;
  exclude?: Exclusion;
}

export interface Int4Result {
  quantized: NodeOutcome[];
  skipped: NodeOutcome[];
}

/** Block-quantize W [K, N] along K: codes in [0, 15] as [N][K padded], scales and zero points [N][blocks]. */
export function quantizeBlocks(w: Float32Array, K: number, N: number, blockSize: number, symmetric: boolean) {
  const blocks = Math.ceil(K / blockSize);
  const kPad = blocks * blockSize;
  const codes = new Uint8Array(N * kPad);
  const scales = new Float32Array(N * blocks);
  const zeroPoints = new Uint8Array(N * blocks);
  for (let n = 0; n < N; n++) {
    for (let b = 0; b < blocks; b++) {
      let lo = 0,
        hi = 0,
        absMax = 0;
      for (let k = b * blockSize; k < Math.min(K, (b + 1) * blockSize); k++) {
        const v = w[k * N + n];
        if (v < lo) lo = v;
        if (v > hi) hi = v;
        if (Math.abs(v) > absMax) absMax = Math.abs(v);
      }
      let scale: number, zp: number;
      if (symmetric) {
        scale = absMax / 7 || 1;
        zp = 8;
      } else {
        scale = (hi - lo) / 15 || 1;
        zp = Math.min(15, Math.max(0, roundHalfEven(-lo / scale)));
      }
      scale = Math.fround(scale);
      scales[n * blocks + b] = scale;
      zeroPoints[n * blocks + b] = zp;
      for (let k = b * blockSize; k < (b + 1) * blockSize; k++) {
        const v = k < K ? w[k * N + n] : 0;
        codes[n * kPad + k] = Math.min(15, Math.max(0, roundHalfEven(v / scale) + zp));
      }
    }
  }
  return { codes, scales, zeroPoints, blocks, kPad };
}

/** Option checks that need no model: block size, algorithm and format. */
export function validateInt4Options(options: Int4Options): void {
  const blockSize = options.blockSize ?? 32;
  if (!Number.isInteger(Math.log2(blockSize)) || blockSize < 16)
    throw new InvalidArgumentError(`blockSize must be a power of two of at least 16, got ${blockSize}`, 'blockSize');
  const format = options.format ?? 'matmulnbits';
  if (format !== 'matmulnbits' && format !== 'qdq')
    throw new InvalidArgumentError(`format must be 'matmulnbits' or 'qdq', got '${format as string}'`, 'format');
  const algorithm = options.algorithm ?? 'rtn';
  if (algorithm !== 'rtn' && algorithm !== 'hqq')
    throw new InvalidArgumentError(`algorithm must be 'rtn' or 'hqq', got '${algorithm}'`, 'algorithm');
  if (algorithm === 'hqq' && format !== 'matmulnbits')
    throw new InvalidArgumentError(
      "HQQ gives float zero points, which only MatMulNBits takes: use format 'matmulnbits'",
      'algorithm',
    );
  if (algorithm === 'hqq' && options.symmetric)
    throw new InvalidArgumentError(
      'HQQ fits a zero point per block: it is asymmetric by nature (leave symmetric unset)',
      'symmetric',
    );
}

/**
 * Quantize MatMul/Gemm weights to 4 bits, in place, in every graph.
 *
 * @example
 * ```ts
 * quantizeInt4(model, { blockSize: 32, format: 'matmulnbits' });
 * ```
 */
export function quantizeInt4(model: Model, options: Int4Options = {}): Int4Result {
  validateInt4Options(options);
  const blockSize = options.blockSize ?? 32;
  const format = options.format ?? 'matmulnbits';
  const algorithm = options.algorithm ?? 'rtn';
  const symmetric = algorithm === 'hqq' ? false : (options.symmetric ?? true);
  if (format === 'qdq' && (model.opset() ?? 0) < 21)
    throw new UnsupportedOpError(
      'DequantizeLinear',
      '',
      model.opset(),
      `int4 QDQ needs blocked DequantizeLinear from opset 21; this model imports opset ${model.opset()}. quantize() converts it; here, convertOpset(model, 21) first, or use format 'matmulnbits'.`,
    );
  if (format === 'matmulnbits' && !model.opsetImports.has('com.microsoft')) model.opsetImports.set('com.microsoft', 1);
  const result: Int4Result = { quantized: [], skipped: [] };
  for (const graph of [...model.graphs()]) {
    for (const node of graph.nodes) {
      if (!['MatMul', 'Gemm', 'Gather'].includes(node.opType) || !isDefaultDomain(node)) continue;
      const outcome = { name: node.name, opType: node.opType };
      if (isExcluded(node, options.exclude)) {
        result.skipped.push({ ...outcome, reason: 'excluded by the caller' });
        continue;
      }
      const reason =
        node.opType === 'Gather'
          ? rewriteGather(new GraphBuilder(graph, node.name || node.opType), node, blockSize, symmetric, format)
          : rewrite(
              new GraphBuilder(graph, node.name || node.opType),
              node,
              blockSize,
              symmetric,
              format,
              algorithm === 'hqq' ? (options.hqq ?? {}) : undefined,
            );
      if (reason) result.skipped.push({ ...outcome, reason });
      else result.quantized.push(outcome);
    }
  }
  eliminateDeadCode(model.graph);
  return result;
}

/** Pack signed or unsigned 4-bit codes, low nibble first. */
function packCodes(v: Int32Array): Uint8Array {
  const o = new Uint8Array(Math.ceil(v.length / 2));
  v.forEach((x, i) => {
    o[i >> 1] |= (x & 15) << ((i & 1) * 4);
  });
  return o;
}

/** Embedding table [V, D] → int4 blocks along D behind a blocked DequantizeLinear, then the Gather. */
function rewriteGather(
  rw: GraphBuilder,
  node: Node,
  blockSize: number,
  symmetric: boolean,
  format: 'matmulnbits' | 'qdq',
): string | undefined {
  if (format !== 'qdq')
    return "int4 embedding tables need format 'qdq' (blocked DequantizeLinear, opset 21); MatMulNBits is for matrix products";
  const table = node.inputs[0];
  if (!table?.const || table.const.dtype !== 'float32' || table.isGraphInput || table.const.dims.length !== 2)
    return 'data (input 0) is not a 2-D float32 constant';
  if (node.attr('axis', 'int', 0) !== 0) return 'only axis 0 lookups are quantized';
  const [V, D] = table.const.dims;
  if (D % blockSize) return `row length ${D} is not a multiple of blockSize ${blockSize}`;
  // Blocks run along each row: quantize the transposed table, whose codes come back row-major.
  const src = table.const.data as Float32Array;
  const q = quantizeBlocks(transposeLastTwo(src, 1, V, D), D, V, blockSize, symmetric);
  const codes = Int32Array.from(q.codes, (c) => c - (symmetric ? 8 : 0));
  const type = symmetric ? 'int4' : 'uint4';
  const zps = symmetric ? new Int32Array(q.zeroPoints.length) : Int32Array.from(q.zeroPoints);
  const tq = rw.constant(`${table.name}_q4`, Tensor.fromBytes(type, [V, D], packCodes(codes)));
  const ts = rw.constant(`${table.name}_scales`, Tensor.from('float32', [V, q.blocks], q.scales));
  const tz = rw.constant(`${table.name}_zero_points`, Tensor.fromBytes(type, [V, q.blocks], packCodes(zps)));
  const [dq] = rw.op('DequantizeLinear', [tq, ts, tz], { axis: 1, block_size: blockSize }, [
    `${table.name}_dequantized`,
  ]);
  node.setInput(0, dq);
  rw.insertBefore(node);
  return undefined;
}

function rewrite(
  rw: GraphBuilder,
  node: Node,
  blockSize: number,
  symmetric: boolean,
  format: 'matmulnbits' | 'qdq',
  hqq?: HqqParams,
): string | undefined {
  const w = node.inputs[1];
  if (!w?.const || w.const.dtype !== 'float32' || w.isGraphInput) return 'weight (input 1) is not a float32 constant';
  if (w.const.dims.length !== 2) return `weight has rank ${w.const.dims.length}; only 2-D weights are quantized`;
  let weight = w.const.data as Float32Array;
  let [K, N] = w.const.dims;
  let bias: Value | undefined;
  if (node.opType === 'Gemm') {
    const a = opAttributes(node, 'Gemm');
    if (a.transA || (a.alpha ?? 1) !== 1 || (a.beta ?? 1) !== 1)
      return 'Gemm with transA, alpha or beta other than 1 is not quantized to int4';
    if (a.transB) {
      weight = transposeLastTwo(weight, 1, K, N);
      [K, N] = [N, K];
    }
    bias = node.inputs[2];
    if (bias && (!bias.const || bias.const.dims.length !== 1)) return 'Gemm bias is not a 1-D constant';
  }
  if (K < blockSize) return `K=${K} is smaller than one block (${blockSize})`;
  const q = hqq ? hqqBlocks(weight, K, N, blockSize, hqq) : quantizeBlocks(weight, K, N, blockSize, symmetric);
  const name = node.outputs[0].name;
  const x = node.inputs[0]!;
  let out: Value;
  if (format === 'matmulnbits') {
    const blob = blockSize / 2;
    const packed = new Uint8Array(N * q.blocks * blob);
    for (let i = 0; i < q.codes.length; i += 2) packed[i >> 1] = q.codes[i] | (q.codes[i + 1] << 4);
    const inputs: (Value | undefined)[] = [
      x,
      rw.constant(`${w.name}_q4`, Tensor.from('uint8', [N, q.blocks, blob], packed)),
      rw.constant(`${w.name}_scales`, Tensor.from('float32', [N * q.blocks], q.scales)),
    ];
    if (q.zeroPoints instanceof Float32Array) {
      // HQQ: float zero points, one per block, as MatMulNBits accepts in the scales' type.
      inputs.push(rw.constant(`${w.name}_zero_points`, Tensor.from('float32', [N * q.blocks], q.zeroPoints)));
    } else if (!symmetric) {
      const zpPerRow = Math.ceil(q.blocks / 2);
      const zp = new Uint8Array(N * zpPerRow);
      for (let n = 0; n < N; n++)
        for (let b = 0; b < q.blocks; b++)
          zp[n * zpPerRow + (b >> 1)] |= q.zeroPoints[n * q.blocks + b] << ((b & 1) * 4);
      inputs.push(rw.constant(`${w.name}_zero_points`, Tensor.from('uint8', [N * zpPerRow], zp)));
    }
    [out] = rw.op('MatMulNBits', inputs, { K, N, bits: 4, block_size: blockSize }, [`${name}_q4`], 'com.microsoft');
  } else {
    // Blocked DequantizeLinear over W [K, N] along axis 0 (K must be a multiple of the block here).
    if (K % blockSize) return `K=${K} is not a multiple of blockSize ${blockSize} (needed by the QDQ form)`;
    const codes = new Int32Array(K * N),
      scales = new Float32Array(q.blocks * N),
      zps = new Int32Array(q.blocks * N);
    for (let n = 0; n < N; n++) {
      for (let k = 0; k < K; k++) codes[k * N + n] = q.codes[n * q.kPad + k] - (symmetric ? 8 : 0);
      for (let b = 0; b < q.blocks; b++) {
        scales[b * N + n] = q.scales[n * q.blocks + b];
        zps[b * N + n] = q.zeroPoints[n * q.blocks + b];
      }
    }
    const type = symmetric ? 'int4' : 'uint4';
    const wq = rw.constant(`${w.name}_q4`, Tensor.fromBytes(type, [K, N], packCodes(codes)));
    const ws = rw.constant(`${w.name}_scales`, Tensor.from('float32', [q.blocks, N], scales));
    const wz = rw.constant(
      `${w.name}_zero_points`,
      Tensor.fromBytes(type, [q.blocks, N], packCodes(symmetric ? new Int32Array(zps.length) : zps)),
    );
    const [wdq] = rw.op('DequantizeLinear', [wq, ws, wz], { axis: 0, block_size: blockSize }, [
      `${w.name}_dequantized`,
    ]);
    [out] = rw.op('MatMul', [x, wdq], {}, [`${name}_q4`]);
  }
  if (bias) [out] = rw.op('Add', [out, bias], {}, [`${name}_biased`]);
  replaceNode(node, rw.nodes, [out]);
  return undefined;
}
