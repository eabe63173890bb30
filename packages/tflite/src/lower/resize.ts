/**
 * Resize and Upsample of H and W in NHWC. Bilinear maps ONNX's coordinate transformation onto
 * TFLite's align_corners / half_pixel_centers flags; nearest is exported only with the TFLite
 * variant whose source index equals ONNX's for every output pixel (checked here, index by index),
 * since the two round differently at ties.
 */
import type { Node } from '@edgeml/core';
import type { ExportContext } from '../context.js';
import { channelsLast } from '../layout.js';

const NHWC = channelsLast(4);

/** The source index ONNX's nearest mode reads for output index `x` of an axis resized `inSize` → `outSize`. */
function onnxNearest(x: number, inSize: number, outSize: number, transform: string, rounding: string): number {
  const scale = outSize / inSize;
  let source: number;
  if (transform === 'align_corners') source = outSize === 1 ? 0 : (x * (inSize - 1)) / (outSize - 1);
  else if (transform === 'asymmetric') source = x / scale;
  else if (transform === 'tf_half_pixel_for_nn') source = (x + 0.5) / scale;
  else if (transform === 'pytorch_half_pixel') source = outSize > 1 ? (x + 0.5) / scale - 0.5 : 0;
  else source = (x + 0.5) / scale - 0.5;
  const frac = source - Math.floor(source);
  let index: number;
  if (rounding === 'floor') index = Math.floor(source);
  else if (rounding === 'ceil') index = Math.ceil(source);
  else if (frac === 0.5) index = rounding === 'round_prefer_ceil' ? Math.ceil(source) : Math.floor(source);
  else index = Math.round(source);
  return Math.min(Math.max(index, 0), inSize - 1);
}

/** The source index TFLite's RESIZE_NEAREST_NEIGHBOR reads (float32 arithmetic, as its kernel). */
function tfliteNearest(x: number, inSize: number, outSize: number, alignCorners: boolean, halfPixel: boolean): number {
  const f = Math.fround;
  const scale = alignCorners && outSize > 1 ? f((inSize - 1) / (outSize - 1)) : f(inSize / outSize);
  const offset = halfPixel ? 0.5 : 0;
  const scaled = f(f(x + offset) * scale);
  const index = Math.min(alignCorners ? Math.round(scaled) : Math.floor(scaled), inSize - 1);
  return halfPixel ? Math.max(0, index) : index;
}

const VARIANTS = [
  { align_corners: false, half_pixel_centers: false },
  { align_corners: false, half_pixel_centers: true },
  { align_corners: true, half_pixel_centers: false },
];

function nearestVariant(sizes: [number, number][], transform: string, rounding: string) {
  return VARIANTS.find((v) =>
    sizes.every(([inSize, outSize]) => {
      for (let x = 0; x < outSize; x++)
        if (
          onnxNearest(x, inSize, outSize, transform, rounding) !==
          tfliteNearest(x, inSize, outSize, v.align_corners, v.half_pixel_centers)
        )
          return false;
      return true;
    }),
  );
}

function bilinearVariant(transform: string, outSizes: number[]) {
  if (transform === 'align_corners') return { align_corners: true, half_pixel_centers: false };
  if (transform === 'asymmetric') return { align_corners: false, half_pixel_centers: false };
  if (transform === 'half_pixel' || (transform === 'pytorch_half_pixel' && outSizes.every((s) => s > 1)))
    return { align_corners: false, half_pixel_centers: true };
  return undefined;
}

/**
 * ONNX maps coordinates with the scales given, TFLite with output / input size: where the
 * scales are given and differ from that ratio (a 0.6 downscale of 4 pixels to 2), the pixels differ.
 */
function checkScales(node: Node, ctx: ExportContext, inShape: number[], outShape: number[]): void {
  const scalesInput = node.opType === 'Upsample' || ctx.opset < 11 ? 1 : 2;
  for (const index of [scalesInput, scalesInput + 1])
    if (node.inputs[index] && !node.inputs[index].const && index < 4) ctx.constInput(node, index, 'scales or sizes');
  const given = node.inputs[scalesInput]?.const?.toNumbers() ?? node.attr('scales', 'floats')?.map(Number);
  if (!given?.length) return;
  for (const axis of [2, 3])
    if (Math.abs(given[axis] - outShape[axis] / inShape[axis]) > 1e-6)
      ctx.unsupported(
        node,
        `scale ${given[axis]} on axis ${axis} is not output/input size ${outShape[axis]}/${inShape[axis]}: TFLite maps pixels by the sizes; give sizes instead of scales`,
      );
}

/** Resize (opset 10+) and Upsample: RESIZE_NEAREST_NEIGHBOR or RESIZE_BILINEAR to the output's static H × W. */
export function lowerResize(node: Node, ctx: ExportContext): void {
  const x = node.inputs[0]!;
  const inShape = ctx.shape(x);
  const outShape = ctx.shape(node.outputs[0]);
  if (inShape.length !== 4 || inShape[0] !== outShape[0] || inShape[1] !== outShape[1])
    ctx.unsupported(node, 'a resize of other axes than H and W of a 4-D NCHW tensor');
  const mode = node.attr('mode', 'string', 'nearest');
  const legacy = node.opType === 'Upsample' || ctx.opset < 11;
  const transform = legacy ? 'asymmetric' : node.attr('coordinate_transformation_mode', 'string', 'half_pixel');
  const rounding = legacy ? 'floor' : node.attr('nearest_mode', 'string', 'round_prefer_floor');
  if (node.attr('antialias', 'int', 0)) ctx.unsupported(node, 'antialias 1: TFLite resizes without a filter');
  checkScales(node, ctx, inShape, outShape);
  const sizes: [number, number][] = [
    [inShape[2], outShape[2]],
    [inShape[3], outShape[3]],
  ];
  const name = node.name || node.outputs[0].name;
  const size = ctx.int32(`${name}/size`, [outShape[2], outShape[3]]);
  const inputs = [ctx.tensor(x, NHWC), size];
  const output = ctx.define(node.outputs[0], NHWC);
  if (mode === 'nearest') {
    const variant = nearestVariant(sizes, transform, rounding);
    if (!variant)
      ctx.unsupported(node, `nearest with ${transform} and ${rounding}: no TFLite variant picks the same pixels`);
    ctx.emit('RESIZE_NEAREST_NEIGHBOR', inputs, [output], 'ResizeNearestNeighborOptions', variant);
  } else if (mode === 'linear' || mode === 'bilinear') {
    const variant = bilinearVariant(transform, [outShape[2], outShape[3]]);
    if (!variant) ctx.unsupported(node, `linear with ${transform}: TFLite's RESIZE_BILINEAR has no such mode`);
    ctx.emit('RESIZE_BILINEAR', inputs, [output], 'ResizeBilinearOptions', variant);
  } else ctx.unsupported(node, `mode '${mode}': TFLite resizes nearest or bilinear`);
  ctx.count(`${node.opType} (${mode}, ${transform}) → RESIZE_${mode === 'nearest' ? 'NEAREST_NEIGHBOR' : 'BILINEAR'}`);
}
