/**
 * Version changes that moved attributes into inputs (so they can be computed at run time):
 * Clip-11, Pad-11, Slice-10, TopK-10, Upsample-9, Dropout-12, Split-13, Squeeze/Unsqueeze-13,
 * ReduceSum-13 and the other reductions at 18, DFT-20. Up, the attribute becomes a new
 * initializer; down, a constant input (initializer or Constant output) becomes the attribute
 * again, and an input computed at run time is refused.
 */
import type { DType } from '../../tensor/dtype.js';
import { dtypeToOnnx } from '../../tensor/dtype.js';
import { Node } from '../../ir/node.js';
import type { Value } from '../../ir/value.js';
import { insertOnEdge, replaceNode } from '../../ir/editing.js';
import { fromFloat64 } from '../../ops/numeric.js';
import { KEEP, type VersionAdapter } from './adapter.js';
import type { AdapterContext } from './context.js';

/** One attribute that is an input from the new version on. */
interface MovedAttribute {
  attr: string;
  input: number;
  kind: 'ints' | 'int' | 'float' | 'floats';
  /** The new input's element type: fixed, or the element type of input 0 (`'data'`). */
  dtype: DType | 'data';
  /** 0-d input rather than 1-D (a lone int or float). */
  scalar?: boolean;
  /** Written as an input even when the attribute is absent (the attribute had a default, the input has none). */
  fallback?: number;
}

function moveUp(ctx: AdapterContext, moved: MovedAttribute): void {
  const a = ctx.node.attributes.get(moved.attr);
  const value = a?.value as number | number[] | undefined;
  ctx.node.attributes.delete(moved.attr);
  if (value === undefined && moved.fallback === undefined) return;
  const values = value === undefined ? [moved.fallback!] : Array.isArray(value) ? value : [value];
  const dtype = moved.dtype === 'data' ? ctx.requireDtype(0, `turning ${moved.attr} into an input`) : moved.dtype;
  const dims = moved.scalar ? [] : [values.length];
  const input = ctx.builder().constant(`${ctx.label}_${moved.attr}`, fromFloat64(dtype, dims, values));
  ctx.node.setInput(moved.input, input);
}

function moveDown(ctx: AdapterContext, moved: MovedAttribute): void {
  const values = ctx.constInput(moved.input, moved.attr);
  if (values === undefined) return;
  if (moved.kind === 'ints' || moved.kind === 'floats') ctx.node.setAttr(moved.attr, moved.kind, values);
  else ctx.node.setAttr(moved.attr, moved.kind, values[0]);
  ctx.dropInput(moved.input);
}

/** Attributes that became inputs at this version (listed in input order). */
export function attributesToInputs(...moved: MovedAttribute[]): VersionAdapter {
  return {
    up: (ctx) => moved.forEach((m) => moveUp(ctx, m)),
    // Highest slot first, so dropping one never shifts another.
    down: (ctx) => {
      [...moved].reverse().forEach((m) => moveDown(ctx, m));
      // Empty trailing slots ("" inputs) would count as inputs the older form does not take.
      ctx.trimInputs();
    },
  };
}

const ints = (attr: string, input: number): MovedAttribute => ({ attr, input, kind: 'ints', dtype: 'int64' });

/** Clip-11: min and max are optional inputs of the data's type. */
export const clip11 = attributesToInputs(
  { attr: 'min', input: 1, kind: 'float', dtype: 'data', scalar: true },
  { attr: 'max', input: 2, kind: 'float', dtype: 'data', scalar: true },
);

/** Pad-11: pads and the constant value are inputs. */
export const pad11: VersionAdapter = {
  up: (ctx) => {
    // A zero fill is the input's default: only a different value needs a typed constant.
    if (ctx.node.attr('value', 'float', 0) === 0) ctx.node.attributes.delete('value');
    attributesToInputs(ints('pads', 1), { attr: 'value', input: 2, kind: 'float', dtype: 'data', scalar: true }).up!(
      ctx,
    );
  },
  down: attributesToInputs(ints('pads', 1), { attr: 'value', input: 2, kind: 'float', dtype: 'data' }).down,
};

/** Pad-18: the optional axes input (pads only for those axes); down spells pads out for every axis. */
export const pad18: VersionAdapter = {
  down: (ctx) => {
    if (!ctx.node.inputs[3]) return;
    const axes = ctx.constInput(3, 'axes')!;
    const pads = ctx.constInput(1, 'pads')!;
    const rank = ctx.requireRank(0, 'spelling out pads for every axis');
    const full = new Array<number>(2 * rank).fill(0);
    axes.forEach((axis, i) => {
      const a = axis < 0 ? axis + rank : axis;
      full[a] = pads[i];
      full[rank + a] = pads[axes.length + i];
    });
    ctx.dropInput(3);
    const old = ctx.node.inputs[1];
    ctx.node.setInput(1, ctx.ints('pads', full));
    ctx.discard(old);
  },
};

/** Pad-19: mode 'wrap'. */
export const pad19: VersionAdapter = {
  down: (ctx) => {
    if (ctx.node.attr('mode', 'string', 'constant') === 'wrap')
      ctx.fail(`mode 'wrap' has no equivalent before opset ${ctx.from}`, KEEP);
  },
};

/** Slice-10: starts, ends and axes are inputs, and steps is new. */
export const slice10: VersionAdapter = {
  up: attributesToInputs(ints('starts', 1), ints('ends', 2), ints('axes', 3)).up,
  down: (ctx) => {
    const steps = ctx.constInput(4, 'steps');
    if (steps?.some((s) => s !== 1))
      ctx.fail(`steps ${JSON.stringify(steps)} have no equivalent before opset 10`, KEEP);
    ctx.dropInput(4);
    attributesToInputs(ints('starts', 1), ints('ends', 2), ints('axes', 3)).down!(ctx);
  },
};

/** Slice-11: negative axes (in the axes input). */
export const slice11: VersionAdapter = {
  down: (ctx) => {
    const given = ctx.node.inputs[3];
    if (given && !ctx.constant(given))
      ctx.fail(`axes '${given.name}' are computed at run time and may be negative, which Slice accepts from 11`, KEEP);
    const axes = ctx.constInput(3, 'axes');
    if (!axes?.some((a) => a < 0)) return;
    const rank = ctx.requireRank(0, 'making negative axes positive');
    ctx.node.setInput(
      3,
      ctx.ints(
        'axes',
        axes.map((a) => (a < 0 ? a + rank : a)),
      ),
    );
  },
};

/** TopK-10: k is an input. */
export const topk10 = attributesToInputs({ attr: 'k', input: 1, kind: 'int', dtype: 'int64' });

/** Upsample-9: scales is an input. */
export const upsample9 = attributesToInputs({ attr: 'scales', input: 1, kind: 'floats', dtype: 'float32' });

/** Split-13: split is an input. */
export const split13 = attributesToInputs(ints('split', 1));

/** Squeeze/Unsqueeze-13, ReduceSum-13, other reductions at 18: axes is an input, with noop_with_empty_axes for reductions. */
export const axes13: VersionAdapter = {
  up: attributesToInputs(ints('axes', 1)).up,
  down: (ctx) => {
    const noop = ctx.node.attr('noop_with_empty_axes', 'int', 0);
    const axes = ctx.constInput(1, 'axes');
    if (noop && !axes?.length)
      ctx.fail('noop_with_empty_axes=1 with no axes (an identity) has no reduction form before this opset', KEEP);
    ctx.node.attributes.delete('noop_with_empty_axes');
    attributesToInputs(ints('axes', 1)).down!(ctx);
    // An empty constant axes input means "all axes" at both versions: no attribute needed.
    if (ctx.node.attr('axes', 'ints')?.length === 0) ctx.node.attributes.delete('axes');
  },
};

/** Split-18: num_outputs; without a split input, the outputs are equal parts (the last one smaller). */
export const split18: VersionAdapter = {
  up: (ctx) => {
    if (!ctx.node.inputs[1] && !ctx.node.attributes.has('num_outputs'))
      ctx.node.setAttr('num_outputs', 'int', ctx.node.outputs.length);
  },
  down: (ctx) => {
    const parts = ctx.node.attr('num_outputs', 'int');
    ctx.node.attributes.delete('num_outputs');
    if (parts === undefined || ctx.node.inputs[1]) return;
    const axis = ctx.node.attr('axis', 'int', 0);
    const dim = ctx.shape(ctx.node.inputs[0])?.at(axis);
    if (typeof dim !== 'number') {
      // Opset 17 splits into equal parts; 18 lets the last one be smaller, which only a known size can tell.
      return ctx.fail(
        'num_outputs over an axis of unknown size may split unevenly, which needs split sizes before 18',
        KEEP,
      );
    }
    if (dim % parts === 0) return;
    const size = Math.ceil(dim / parts);
    const sizes = Array.from({ length: parts }, (_, i) => Math.max(0, Math.min(size, dim - i * size)));
    ctx.node.setInput(1, ctx.ints('split', sizes));
  },
};

/** Dropout-12: ratio and training_mode are inputs (seed is new). */
export const dropout12: VersionAdapter = {
  up: attributesToInputs({ attr: 'ratio', input: 1, kind: 'float', dtype: 'float32', scalar: true }).up,
  down: (ctx) => {
    const training = ctx.constInput(2, 'training_mode');
    if (training?.[0]) ctx.fail('training_mode=true has no equivalent before opset 12', KEEP);
    ctx.dropInput(2);
    ctx.node.attributes.delete('seed');
    attributesToInputs({ attr: 'ratio', input: 1, kind: 'float', dtype: 'float32' }).down!(ctx);
  },
};

/**
 * Dropout-10: the mask output is bool (it was of the data's type). Up casts the mask for its
 * readers. Down, where the mask is read, readers get the all-true mask that inference gives as
 * a constant: runtimes disagree on what the older Dropout's mask holds (onnxruntime fills it with zeros).
 */
export const dropout10: VersionAdapter = {
  up: (ctx) => castMask(ctx, ctx.requireDtype(0, 'keeping the mask output of the data type')),
  down: (ctx) => {
    const mask = readMask(ctx);
    if (!mask) return;
    const shape = ctx.shape(ctx.node.inputs[0]);
    if (!shape?.every((d): d is number => typeof d === 'number'))
      return ctx.fail('the mask output of an input of unknown shape has no exact form before opset 10', KEEP);
    const size = shape.reduce((n, d) => n * d, 1);
    const ones = ctx.builder().constant(`${mask.name}_inference`, fromFloat64('bool', shape, new Array(size).fill(1)));
    const b = ctx.builder();
    const [y] = b.op('Dropout', [ctx.node.inputs[0]], [...ctx.node.attributes.values()], [ctx.node.outputs[0].name]);
    replaceNode(ctx.node, b.nodes, [y, ones]);
  },
};

/** The mask output when something reads it. */
function readMask(ctx: AdapterContext): Value | undefined {
  const mask = ctx.node.outputs[1];
  return mask?.name && (mask.uses().length || ctx.graph.outputs.includes(mask)) ? mask : undefined;
}

/** Readers of the mask keep the element type they had: a Cast to `dtype` goes on the mask's edge. */
function castMask(ctx: AdapterContext, dtype: DType): void {
  const mask = readMask(ctx);
  if (!mask) return;
  const cast = new Node({
    opType: 'Cast',
    name: ctx.graph.names.node(`${ctx.label}_mask_cast`),
    inputs: [mask],
    outputs: [ctx.graph.names.value(`${mask.name}_cast`)],
    attributes: { to: dtypeToOnnx(dtype) },
  });
  cast.outputs[0].type = mask.type && { ...mask.type };
  mask.type = undefined;
  insertOnEdge(mask, cast);
}

/** DFT-20: axis is an input (default -2, the last signal axis); at 17 it was an attribute defaulting to 1. */
export const dft20: VersionAdapter = {
  up: attributesToInputs({ attr: 'axis', input: 2, kind: 'int', dtype: 'int64', scalar: true, fallback: 1 }).up,
  down: (ctx) => {
    const axis = ctx.node.inputs[2] ? ctx.constInput(2, 'axis')![0] : -2;
    ctx.dropInput(2);
    ctx.node.setAttr('axis', 'int', axis);
  },
};
