/**
 * Convolution and pooling windows: ONNX's explicit or automatic padding told apart into what
 * TFLite's SAME and VALID paddings express, and what needs an explicit PAD first.
 */
import type { Node } from '@edgeml/core';
import type { ExportContext } from '../context.js';
import { Padding } from '../schema.js';

export interface Window {
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** Begin pads then end pads, one per spatial axis (ONNX's order). */
  pads: number[];
}

/** TFLite's SAME padding for one axis: the total, and how much of it goes before. */
function samePads(size: number, kernel: number, stride: number, dilation: number): [number, number] {
  const effective = (kernel - 1) * dilation + 1;
  const total = Math.max((Math.ceil(size / stride) - 1) * stride + effective - size, 0);
  return [Math.floor(total / 2), total - Math.floor(total / 2)];
}

/** The window of a Conv or pool over `spatial` input sizes, pads resolved from auto_pad. */
export function windowOf(node: Node, spatial: readonly number[], kernel: readonly number[]): Window {
  const n = spatial.length;
  const strides = node.attr('strides', 'ints', new Array<number>(n).fill(1)).map(Number);
  const dilations = node.attr('dilations', 'ints', new Array<number>(n).fill(1)).map(Number);
  const autoPad = node.attr('auto_pad', 'string', 'NOTSET');
  let pads = node.attr('pads', 'ints', new Array<number>(2 * n).fill(0)).map(Number);
  if (autoPad === 'VALID') pads = new Array<number>(2 * n).fill(0);
  else if (autoPad === 'SAME_UPPER' || autoPad === 'SAME_LOWER') {
    const same = spatial.map((size, i) => samePads(size, kernel[i], strides[i], dilations[i]));
    const lower = autoPad === 'SAME_LOWER';
    pads = [...same.map(([b, e]) => (lower ? e : b)), ...same.map(([b, e]) => (lower ? b : e))];
  }
  return { kernel: [...kernel], strides, dilations, pads };
}

/** Whether `window`'s pads are TFLite's SAME (pads ≠ 0) or VALID (no pads), or neither. */
export function paddingKind(window: Window, spatial: readonly number[]): 'SAME' | 'VALID' | 'explicit' {
  if (window.pads.every((p) => p === 0)) return 'VALID';
  const same = spatial.map((size, i) => samePads(size, window.kernel[i], window.strides[i], window.dilations[i]));
  const n = spatial.length;
  return same.every(([b, e], i) => window.pads[i] === b && window.pads[i + n] === e) ? 'SAME' : 'explicit';
}

/**
 * The NHWC input of a 2-D window op with `window`'s pads applied by a PAD (PADV2 with `fill`
 * when it is not 0) when TFLite's SAME cannot express them; returns the tensor and the padding
 * the op itself then uses.
 */
export function paddedInput(
  ctx: ExportContext,
  node: Node,
  input: number,
  window: Window,
  spatial: readonly number[],
  options: { fill?: number; sameAllowed?: boolean } = {},
): { tensor: number; padding: number } {
  const kind = paddingKind(window, spatial);
  if (kind === 'VALID') return { tensor: input, padding: Padding.VALID };
  if (kind === 'SAME' && options.sameAllowed !== false) return { tensor: input, padding: Padding.SAME };
  const [top, left, bottom, right] = window.pads;
  const shape = ctx.graph.tensors[input].shape;
  const padded = ctx.scratch(`${node.name || node.opType}/padded`, [
    shape[0],
    shape[1] + top + bottom,
    shape[2] + left + right,
    shape[3],
  ]);
  const pads = ctx.int32(`${node.name || node.opType}/pads`, [0, 0, top, bottom, left, right, 0, 0], [4, 2]);
  if (!options.fill) ctx.emit('PAD', [input, pads], [padded], 'PadOptions', {});
  else {
    const fill = ctx.float32(`${node.name || node.opType}/pad_value`, [options.fill], []);
    ctx.emit('PADV2', [input, pads, fill], [padded], 'PadV2Options', {});
  }
  ctx.count(`${kind === 'SAME' ? 'SAME-like' : 'asymmetric or explicit'} padding written as an explicit PAD`);
  return { tensor: padded, padding: Padding.VALID };
}
