/**
 * Pools in NHWC: MaxPool and AveragePool as MAX_POOL_2D / AVERAGE_POOL_2D (explicit pads and
 * ceil_mode's extra end padding as a PAD, with the lowest float for max pools), global pools
 * as MEAN / REDUCE_MAX over H and W.
 */
import type { Node } from '@edgeml/core';
import type { ExportContext } from '../context.js';
import { channelsLast } from '../layout.js';
import { Activation, Padding } from '../schema.js';
import { lowerAsTwoD } from './one-d.js';
import { paddedInput, windowOf, type Window } from './window.js';

const NHWC = channelsLast(4);
const LOWEST_FLOAT = -3.4028234663852886e38;

function check2d(ctx: ExportContext, node: Node): number[] {
  const x = node.inputs[0]!;
  if (x.dtype !== 'float32') ctx.unsupported(node, `a ${x.dtype} input; the float export takes float32`);
  const shape = ctx.shape(x);
  if (shape.length !== 4) ctx.unsupported(node, `a rank-${shape.length} input; TFLite's pools are 2-D (NHWC)`);
  if (node.outputs.length > 1 && node.outputs[1].uses().length + (ctx.isGraphOutput(node.outputs[1]) ? 1 : 0) > 0)
    ctx.unsupported(node, 'its Indices output is used; TFLite pools return values only');
  return shape;
}

/** End pads grown so that VALID pooling yields ceil_mode's output size (the ONNX rule drops a last window starting in the end padding). */
function withCeilMode(node: Node, window: Window, spatial: number[]): Window {
  if (node.attr('ceil_mode', 'int', 0) === 0) return window;
  const n = spatial.length;
  const pads = [...window.pads];
  for (let i = 0; i < n; i++) {
    const span = spatial[i] + pads[i] + pads[i + n];
    const effective = (window.kernel[i] - 1) * window.dilations[i] + 1;
    let out = Math.ceil((span - effective) / window.strides[i]) + 1;
    if ((out - 1) * window.strides[i] >= spatial[i] + pads[i]) out--;
    pads[i + n] += Math.max(0, (out - 1) * window.strides[i] + effective - span);
  }
  return { ...window, pads };
}

/**
 * What an average over a zero-padded input must be multiplied by, per output pixel, to be
 * ONNX's average: kH·kW over the cells ONNX counts (the input's, plus the pads with
 * count_include_pad, never ceil_mode's extra end cells). Undefined when every factor is 1.
 */
function averageCorrection(window: Window, pads: number[], spatial: number[], out: number[], countPads: boolean) {
  const counted = (axis: number): [number, number] => {
    const begin = window.pads[axis];
    return countPads ? [begin - pads[axis], begin + spatial[axis] + pads[axis + 2]] : [begin, begin + spatial[axis]];
  };
  const [[y0, y1], [x0, x1]] = [counted(0), counted(1)];
  const [kH, kW] = window.kernel;
  const factors = new Float32Array(out[0] * out[1]);
  let trivial = true;
  for (let y = 0; y < out[0]; y++)
    for (let x = 0; x < out[1]; x++) {
      const top = y * window.strides[0];
      const left = x * window.strides[1];
      const rows = Math.min(top + kH, y1) - Math.max(top, y0);
      const cols = Math.min(left + kW, x1) - Math.max(left, x0);
      factors[y * out[1] + x] = (kH * kW) / (rows * cols);
      if (rows * cols !== kH * kW) trivial = false;
    }
  return trivial ? undefined : factors;
}

/** MaxPool and AveragePool. */
export function lowerPool(node: Node, ctx: ExportContext): void {
  if (ctx.rank(node.inputs[0]!) === 3) return lowerAsTwoD(node, ctx, lowerPool);
  const [, , height, width] = check2d(ctx, node);
  const kernel = node.attr('kernel_shape', 'ints', []).map(Number);
  const base = windowOf(node, [height, width], kernel);
  if (base.dilations.some((d) => d !== 1)) ctx.unsupported(node, 'dilations ≠ 1: TFLite pools have none');
  const window = withCeilMode(node, base, [height, width]);
  const isMax = node.opType === 'MaxPool';
  const countPads = node.attr('count_include_pad', 'int', 0) === 1;
  const ceilExtra = window.pads.some((p, i) => p !== base.pads[i]);
  const input = paddedInput(ctx, node, ctx.tensor(node.inputs[0]!, NHWC), window, [height, width], {
    fill: isMax ? LOWEST_FLOAT : 0,
    // TFLite's SAME average pool leaves the padding out of the count, as count_include_pad 0 does.
    sameAllowed: isMax || (!countPads && !ceilExtra),
  });
  const { out, activation } = ctx.fuse(node, ctx.fusibleActivation(node));
  const output = ctx.define(out, NHWC);
  const outSpatial = ctx.graph.tensors[output].shape.slice(1, 3);
  const correction =
    isMax || input.padding === Padding.SAME
      ? undefined
      : averageCorrection(window, base.pads, [height, width], outSpatial, countPads);
  const pooled = correction ? ctx.scratch(`${out.name}/window_mean`, ctx.graph.tensors[output].shape) : output;
  ctx.emit(isMax ? 'MAX_POOL_2D' : 'AVERAGE_POOL_2D', [input.tensor], [pooled], 'Pool2DOptions', {
    padding: input.padding,
    stride_w: window.strides[1],
    stride_h: window.strides[0],
    filter_width: window.kernel[1],
    filter_height: window.kernel[0],
    fused_activation_function: correction ? Activation.NONE : activation,
  });
  ctx.count(`${node.opType} → ${isMax ? 'MAX_POOL_2D' : 'AVERAGE_POOL_2D'}`);
  if (!correction) return;
  const factors = ctx.float32(`${out.name}/count_correction`, correction, [1, ...outSpatial, 1]);
  ctx.emit('MUL', [pooled, factors], [output], 'MulOptions', { fused_activation_function: activation });
  ctx.count('AveragePool divisor corrected for its padding (MUL)');
}

/** GlobalAveragePool and GlobalMaxPool: a reduction over the spatial axes, kept as size-1 axes. */
export function lowerGlobalPool(node: Node, ctx: ExportContext): void {
  check2d(ctx, node);
  const output = ctx.define(node.outputs[0], NHWC);
  const axes = ctx.int32(`${node.name || node.opType}/axes`, [1, 2]);
  const op = node.opType === 'GlobalMaxPool' ? 'REDUCE_MAX' : 'MEAN';
  ctx.emit(op, [ctx.tensor(node.inputs[0]!, NHWC), axes], [output], 'ReducerOptions', { keep_dims: true });
  ctx.count(`${node.opType} → ${op} over H, W`);
}
