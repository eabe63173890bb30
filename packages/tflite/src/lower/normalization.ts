/**
 * Normalizations TFLite has no builtin for, as the graph TFLiteConverter writes for them:
 * MEAN, SUB, SQUARED_DIFFERENCE, MEAN, ADD ε, RSQRT, MUL, then the affine MUL and ADD, over
 * the normalized axes remapped to the input's layout.
 */
import { Tensor, type Node, type Value } from '@edgeml/core';
import type { ExportContext } from '../context.js';
import { identityPerm, physicalAxis } from '../layout.js';
import { Activation } from '../schema.js';

const NONE = { fused_activation_function: Activation.NONE };

/** (x − mean) / √(var + ε) over logical `axes` of `x`, in `x`'s layout; returns the result tensor. */
function standardize(ctx: ExportContext, x: Value, axes: number[], epsilon: number, name: string): number {
  const perm = ctx.placement(x).perm;
  const input = ctx.tensor(x, perm);
  const shape = ctx.graph.tensors[input].shape;
  const physical = axes.map((a) => physicalAxis(perm, a));
  const reduced = shape.map((d, i) => (physical.includes(i) ? 1 : d));
  const axesTensor = ctx.int32(`${name}/axes`, physical);
  const mean = ctx.scratch(`${name}/mean`, reduced);
  ctx.emit('MEAN', [input, axesTensor], [mean], 'ReducerOptions', { keep_dims: true });
  const centered = ctx.scratch(`${name}/centered`, shape);
  ctx.emit('SUB', [input, mean], [centered], 'SubOptions', NONE);
  const squares = ctx.scratch(`${name}/squares`, shape);
  ctx.emit('MUL', [centered, centered], [squares], 'MulOptions', NONE);
  const variance = ctx.scratch(`${name}/variance`, reduced);
  ctx.emit('MEAN', [squares, axesTensor], [variance], 'ReducerOptions', { keep_dims: true });
  const shifted = ctx.scratch(`${name}/variance_eps`, reduced);
  ctx.emit('ADD', [variance, ctx.float32(`${name}/epsilon`, [epsilon], [])], [shifted], 'AddOptions', NONE);
  const inverse = ctx.scratch(`${name}/inv_std`, reduced);
  ctx.emit('RSQRT', [shifted], [inverse]);
  const normalized = ctx.scratch(`${name}/normalized`, shape);
  ctx.emit('MUL', [centered, inverse], [normalized], 'MulOptions', NONE);
  return normalized;
}

/** MUL by `scale` and ADD `bias` (each broadcast like the input's layout) into `out`. */
function affine(ctx: ExportContext, node: Node, normalized: number, scale: number, bias: number | undefined): void {
  const out = node.outputs[0];
  const perm = ctx.placement(node.inputs[0]!).perm;
  const scaledOut =
    bias === undefined ? ctx.define(out, perm) : ctx.scratch(`${out.name}/scaled`, ctx.graph.tensors[normalized].shape);
  ctx.emit('MUL', [normalized, scale], [scaledOut], 'MulOptions', NONE);
  if (bias !== undefined) ctx.emit('ADD', [scaledOut, bias], [ctx.define(out, perm)], 'AddOptions', NONE);
}

/** LayerNormalization over the axes from `axis` on. */
export function lowerLayerNorm(node: Node, ctx: ExportContext): void {
  const x = node.inputs[0]!;
  const rank = ctx.rank(x);
  let axis = node.attr('axis', 'int', -1);
  if (axis < 0) axis += rank;
  const name = node.name || node.outputs[0].name;
  const axes = identityPerm(rank).slice(axis);
  const normalized = standardize(ctx, x, axes, node.attr('epsilon', 'float', 1e-5), name);
  const perm = ctx.placement(x).perm;
  const scale = ctx.broadcastTensor(node.inputs[1]!, rank, perm);
  const bias = node.inputs[2] ? ctx.broadcastTensor(node.inputs[2], rank, perm) : undefined;
  affine(ctx, node, normalized, scale, bias);
  ctx.count('LayerNormalization → MEAN/SUB/MUL/MEAN/ADD/RSQRT/MUL + affine');
}

/** InstanceNormalization over the spatial axes, per-channel scale and bias. */
export function lowerInstanceNorm(node: Node, ctx: ExportContext): void {
  const x = node.inputs[0]!;
  const rank = ctx.rank(x);
  const name = node.name || node.outputs[0].name;
  const normalized = standardize(ctx, x, identityPerm(rank).slice(2), node.attr('epsilon', 'float', 1e-5), name);
  const perm = ctx.placement(x).perm;
  const perChannel = (index: number, what: string) => {
    const t = ctx.constInput(node, index, what);
    const dims = [1, t.dims[0], ...new Array<number>(rank - 2).fill(1)];
    return ctx.graph.addConstant(
      `${name}/${what}`,
      Tensor.from(
        'float32',
        perm.map((i) => dims[i]),
        Float32Array.from(t.toFloat64()),
      ),
    );
  };
  affine(ctx, node, normalized, perChannel(1, 'scale'), perChannel(2, 'bias'));
  ctx.count('InstanceNormalization → MEAN/SUB/MUL/MEAN/ADD/RSQRT/MUL + affine');
}
