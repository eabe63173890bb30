/**
 * Gemm and MatMul: FULLY_CONNECTED where the right operand is a constant matrix (weights
 * stored [out, in], alpha and beta folded in, a following Relu/Clip fused), BATCH_MATMUL
 * where both operands are computed.
 */
import { Tensor, type Node } from '@edgeml/core';
import { transposeConstant, type ExportContext } from '../context.js';
import { identityPerm } from '../layout.js';
import { Activation } from '../schema.js';

function scaled(t: Tensor, factor: number): Tensor {
  if (factor === 1) return t;
  return Tensor.from(
    'float32',
    t.dims,
    Float32Array.from(t.toFloat64(), (v) => v * factor),
  );
}

/** Gemm: Y = alpha · op(A) · op(B) + beta · C. */
export function lowerGemm(node: Node, ctx: ExportContext): void {
  const [a, b, c] = node.inputs;
  const alpha = node.attr('alpha', 'float', 1);
  const beta = node.attr('beta', 'float', 1);
  const transA = node.attr('transA', 'int', 0) === 1;
  const transB = node.attr('transB', 'int', 0) === 1;
  const out = node.outputs[0];
  const [, n] = ctx.shape(out);
  const name = node.name || out.name;
  // A stored with its two axes swapped is op(A) for transA.
  const input = ctx.tensor(a!, transA ? [1, 0] : identityPerm(2));
  const biasInFc = c?.const && c.const.dims.reduce((x, y) => x * y, 1) === n && c.const.dims.at(-1) === n;
  if (!b!.const) {
    const shape = ctx.shape(out);
    const product = c || alpha !== 1 ? ctx.scratch(`${name}/product`, shape) : ctx.define(out);
    ctx.emit('BATCH_MATMUL', [input, ctx.tensor(b!)], [product], 'BatchMatMulOptions', { adj_y: transB });
    ctx.count('Gemm with a computed B → BATCH_MATMUL');
    let result = product;
    if (alpha !== 1) {
      result = c ? ctx.scratch(`${name}/scaled`, shape) : ctx.define(out);
      const factor = ctx.float32(`${name}/alpha`, [alpha], []);
      ctx.emit('MUL', [product, factor], [result], 'MulOptions', { fused_activation_function: Activation.NONE });
    }
    if (c) addBias(ctx, node, result, beta);
    return;
  }
  const weights = scaled(transB ? b!.const : transposeConstant(b!.const, [1, 0]), alpha);
  const fused = c && !biasInFc ? undefined : ctx.fusibleActivation(node);
  const { out: result, activation } = ctx.fuse(node, fused);
  const fcOut = c && !biasInFc ? ctx.scratch(`${name}/product`, ctx.shape(out)) : ctx.define(result);
  const inputs = [input, ctx.graph.addConstant(`${name}/weights`, weights)];
  if (biasInFc) inputs.push(ctx.graph.addConstant(`${name}/bias`, scaled(c.const!.reshape([n]), beta)));
  ctx.emit('FULLY_CONNECTED', inputs, [fcOut], 'FullyConnectedOptions', { fused_activation_function: activation });
  ctx.count('Gemm → FULLY_CONNECTED (weights [out, in])');
  if (c && !biasInFc) addBias(ctx, node, fcOut, beta);
}

function addBias(ctx: ExportContext, node: Node, product: number, beta: number): void {
  const c = node.inputs[2]!;
  const out = node.outputs[0];
  let bias = c.const
    ? ctx.graph.addConstant(`${c.name}/scaled`, scaled(c.const, beta))
    : ctx.broadcastTensor(c, 2, [0, 1]);
  if (!c.const && beta !== 1) {
    const scaledBias = ctx.scratch(`${c.name}/scaled`, ctx.graph.tensors[bias].shape);
    const factor = ctx.float32(`${node.name || out.name}/beta`, [beta], []);
    ctx.emit('MUL', [bias, factor], [scaledBias], 'MulOptions', { fused_activation_function: Activation.NONE });
    bias = scaledBias;
  }
  ctx.emit('ADD', [product, bias], [ctx.define(out)], 'AddOptions', { fused_activation_function: Activation.NONE });
}

/** MatMul: FULLY_CONNECTED (keeping leading axes) for a constant 2-D right operand, BATCH_MATMUL otherwise. */
export function lowerMatMul(node: Node, ctx: ExportContext): void {
  const [a, b] = [node.inputs[0]!, node.inputs[1]!];
  const out = node.outputs[0];
  const rankA = ctx.rank(a);
  const rankB = b.const ? b.const.dims.length : ctx.rank(b);
  if (rankA < 2 || rankB < 2) ctx.unsupported(node, 'a 1-D operand; reshape it to a matrix first');
  const name = node.name || out.name;
  if (b.const && rankB === 2 && a.dtype === 'float32') {
    const { out: result, activation } = ctx.fuse(node, ctx.fusibleActivation(node));
    const weights = ctx.graph.addConstant(`${name}/weights`, transposeConstant(b.const, [1, 0]));
    ctx.emit('FULLY_CONNECTED', [ctx.tensor(a), weights], [ctx.define(result)], 'FullyConnectedOptions', {
      fused_activation_function: activation,
      keep_num_dims: rankA > 2,
    });
    ctx.count('MatMul by a constant → FULLY_CONNECTED');
    return;
  }
  ctx.emit('BATCH_MATMUL', [ctx.tensor(a), ctx.tensor(b)], [ctx.define(out)], 'BatchMatMulOptions', {});
  ctx.count('MatMul → BATCH_MATMUL');
}
