/**
 * Conv and ConvTranspose in NHWC: weights permuted at export time (OIHW → OHWI for CONV_2D,
 * [1, kH, kW, C·m] for DEPTHWISE_CONV_2D, [O, kH, kW, I] for TRANSPOSE_CONV), grouped
 * convolutions as SPLIT → one CONV_2D per group → CONCATENATION, and activations fused.
 */
import { Tensor, sliceAlong, type Node } from '@edgeml/core';
import { transposeConstant, type ExportContext } from '../context.js';
import { channelsLast } from '../layout.js';
import { Activation, Padding } from '../schema.js';
import { lowerAsTwoD } from './one-d.js';
import { paddedInput, windowOf } from './window.js';

const NHWC = channelsLast(4);

function biasOf(ctx: ExportContext, node: Node, channels: number): Tensor {
  const bias = node.inputs[2];
  if (!bias) return Tensor.from('float32', [channels], new Float32Array(channels));
  return ctx.constInput(node, 2, 'bias');
}

function checkFloatConv(ctx: ExportContext, node: Node): void {
  const x = node.inputs[0]!;
  if (x.dtype !== 'float32') ctx.unsupported(node, `a ${x.dtype} input; the float export takes float32`);
  if (ctx.rank(x) !== 4)
    ctx.unsupported(node, `a rank-${ctx.rank(x)} input; TFLite's convolutions are 1-D or 2-D here (NHWC)`);
}

/** Conv: CONV_2D, DEPTHWISE_CONV_2D, or per-group CONV_2Ds for grouped convolutions. */
export function lowerConv(node: Node, ctx: ExportContext): void {
  if (ctx.rank(node.inputs[0]!) === 3) return lowerAsTwoD(node, ctx, lowerConv);
  checkFloatConv(ctx, node);
  const x = node.inputs[0]!;
  const weight = ctx.constInput(node, 1, 'weight');
  const [, channels, height, width] = ctx.shape(x);
  const [outChannels, groupChannels, kH, kW] = weight.dims;
  const group = node.attr('group', 'int', 1);
  const window = windowOf(node, [height, width], [kH, kW]);
  const input = paddedInput(ctx, node, ctx.tensor(x, NHWC), window, [height, width]);
  const { out, activation } = ctx.fuse(node, ctx.fusibleActivation(node));
  const output = ctx.define(out, NHWC);
  const bias = biasOf(ctx, node, outChannels);
  const name = node.name || out.name;
  const options = {
    padding: input.padding,
    stride_w: window.strides[1],
    stride_h: window.strides[0],
    fused_activation_function: activation,
    dilation_w_factor: window.dilations[1],
    dilation_h_factor: window.dilations[0],
  };
  if (group === 1) {
    const filter = ctx.graph.addConstant(`${name}/filter_ohwi`, transposeConstant(weight, [0, 2, 3, 1]));
    const biasTensor = ctx.graph.addConstant(`${name}/bias`, bias);
    ctx.emit('CONV_2D', [input.tensor, filter, biasTensor], [output], 'Conv2DOptions', options);
    ctx.count('Conv → CONV_2D (weights OIHW → OHWI)');
  } else if (group === channels && groupChannels === 1) {
    const filter = ctx.graph.addConstant(`${name}/filter_1hwc`, transposeConstant(weight, [1, 2, 3, 0]));
    const biasTensor = ctx.graph.addConstant(`${name}/bias`, bias);
    ctx.emit('DEPTHWISE_CONV_2D', [input.tensor, filter, biasTensor], [output], 'DepthwiseConv2DOptions', {
      ...options,
      depth_multiplier: outChannels / channels,
    });
    ctx.count('depthwise Conv → DEPTHWISE_CONV_2D (weights → [1, kH, kW, C·m])');
  } else groupedConv(ctx, node, { input: input.tensor, output, weight, bias, group, options });
}

interface GroupedConv {
  input: number;
  output: number;
  weight: Tensor;
  bias: Tensor;
  group: number;
  options: Record<string, number>;
}

function groupedConv(ctx: ExportContext, node: Node, conv: GroupedConv): void {
  const name = node.name || node.opType;
  const { group, weight } = conv;
  const inShape = ctx.graph.tensors[conv.input].shape;
  const outShape = ctx.graph.tensors[conv.output].shape;
  const inPer = inShape[3] / group;
  const outPer = weight.dims[0] / group;
  const parts = Array.from({ length: group }, (_, g) =>
    ctx.scratch(`${name}/group${g}/in`, [...inShape.slice(0, 3), inPer]),
  );
  ctx.emit('SPLIT', [ctx.int32(`${name}/split_axis`, [3], []), conv.input], parts, 'SplitOptions', {
    num_splits: group,
  });
  const results = parts.map((part, g) => {
    const w = sliceAlong(weight, 0, g * outPer, (g + 1) * outPer);
    const filter = ctx.graph.addConstant(`${name}/group${g}/filter_ohwi`, transposeConstant(w, [0, 2, 3, 1]));
    const bias = ctx.graph.addConstant(
      `${name}/group${g}/bias`,
      sliceAlong(conv.bias, 0, g * outPer, (g + 1) * outPer),
    );
    const result = ctx.scratch(`${name}/group${g}/out`, [...outShape.slice(0, 3), outPer]);
    const options = { ...conv.options, fused_activation_function: Activation.NONE };
    ctx.emit('CONV_2D', [part, filter, bias], [result], 'Conv2DOptions', options);
    return result;
  });
  ctx.emit('CONCATENATION', results, [conv.output], 'ConcatenationOptions', {
    axis: 3,
    fused_activation_function: conv.options.fused_activation_function,
  });
  ctx.count(`grouped Conv → SPLIT + ${group} CONV_2D + CONCATENATION`);
}

/**
 * ConvTranspose: TRANSPOSE_CONV with VALID padding onto the full output
 * (stride·(in − 1) + kernel, more when output_padding reaches past it), then a STRIDED_SLICE
 * cropping ONNX's begin and end pads, which TFLite's own SAME padding cannot place asymmetrically.
 */
export function lowerConvTranspose(node: Node, ctx: ExportContext): void {
  if (ctx.rank(node.inputs[0]!) === 3) return lowerAsTwoD(node, ctx, lowerConvTranspose);
  checkFloatConv(ctx, node);
  const x = node.inputs[0]!;
  const y = node.outputs[0];
  const weight = ctx.constInput(node, 1, 'weight');
  const group = node.attr('group', 'int', 1);
  if (group !== 1) ctx.unsupported(node, `group ${group}: TFLite's TRANSPOSE_CONV has no groups`);
  const [batch, , height, width] = ctx.shape(x);
  const [, outChannels, kH, kW] = weight.dims;
  const strides = node.attr('strides', 'ints', [1, 1]).map(Number);
  const dilations = node.attr('dilations', 'ints', [1, 1]).map(Number);
  if (dilations.some((d) => d !== 1)) ctx.unsupported(node, 'dilations ≠ 1: TFLite has no dilated TRANSPOSE_CONV');
  const [, , outH, outW] = ctx.shape(y);
  const full = [strides[0] * (height - 1) + kH, strides[1] * (width - 1) + kW];
  const begin = transposeBegins(node, full, [outH, outW]);
  const canvas = [batch, Math.max(full[0], begin[0] + outH), Math.max(full[1], begin[1] + outW), outChannels];
  const name = node.name || y.name;
  const cropped = begin[0] !== 0 || begin[1] !== 0 || canvas[1] !== outH || canvas[2] !== outW;
  const output = ctx.define(y, NHWC);
  const target = cropped ? ctx.scratch(`${name}/uncropped`, canvas) : output;
  const filter = ctx.graph.addConstant(`${name}/filter_ohwi`, transposeConstant(weight, [1, 2, 3, 0]));
  const bias = ctx.graph.addConstant(`${name}/bias`, biasOf(ctx, node, outChannels));
  const shape = ctx.int32(`${name}/output_shape`, canvas);
  ctx.emit('TRANSPOSE_CONV', [shape, filter, ctx.tensor(x, NHWC), bias], [target], 'TransposeConvOptions', {
    padding: Padding.VALID,
    stride_w: strides[1],
    stride_h: strides[0],
  });
  ctx.count('ConvTranspose → TRANSPOSE_CONV (weights IOHW → OHWI)');
  if (!cropped) return;
  const starts = ctx.int32(`${name}/crop_begin`, [0, begin[0], begin[1], 0]);
  const ends = ctx.int32(`${name}/crop_end`, [batch, begin[0] + outH, begin[1] + outW, outChannels]);
  const steps = ctx.int32(`${name}/crop_strides`, [1, 1, 1, 1]);
  ctx.emit('STRIDED_SLICE', [target, starts, ends, steps], [output], 'StridedSliceOptions', {});
  ctx.count('ConvTranspose pads as a STRIDED_SLICE crop');
}

/** Where ONNX's ConvTranspose output starts inside the full (unpadded) result, per spatial axis. */
function transposeBegins(node: Node, full: number[], out: number[]): number[] {
  const autoPad = node.attr('auto_pad', 'string', 'NOTSET');
  const pads = node.attr('pads', 'ints');
  const outputPadding = node.attr('output_padding', 'ints', [0, 0]).map(Number);
  if (pads && !node.attr('output_shape', 'ints') && autoPad === 'NOTSET') return [Number(pads[0]), Number(pads[1])];
  return full.map((size, i) => {
    const total = size + outputPadding[i] - out[i];
    if (total <= 0) return 0;
    return autoPad === 'SAME_UPPER' ? Math.floor(total / 2) : total - Math.floor(total / 2);
  });
}
