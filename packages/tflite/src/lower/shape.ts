/**
 * Shape and data-movement ops. Reshape, Flatten, Squeeze and Unsqueeze are one RESHAPE of the
 * value in ONNX memory order; Transpose is free (its output is its input in another layout);
 * Concat, Slice, Split, Gather, Pad and the reductions stay in their input's layout with their
 * axes remapped.
 */
import { Tensor, type Node, type Value } from '@edgeml/core';
import type { ExportContext } from '../context.js';
import { dropAxes, identityPerm, invertPerm, physicalAxis, type Perm } from '../layout.js';
import { MirrorPadMode } from '../schema.js';
import { requireTensorType } from '../tflite-graph.js';
import { lowerIdentity, sharedPerm } from './elementwise.js';

const normAxis = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis);

/** A constant list input (int64 in ONNX) or attribute of `node`, as numbers. */
export function listInput(
  ctx: ExportContext,
  node: Node,
  index: number,
  attribute: string,
  what: string,
): number[] | undefined {
  if (node.inputs[index]) return ctx.constInput(node, index, what).toNumbers();
  const value = node.attr(attribute, 'ints');
  return value ? value.map(Number) : undefined;
}

/** Reshape, Flatten, Squeeze, Unsqueeze: a RESHAPE to the output's static shape. */
export function lowerReshape(node: Node, ctx: ExportContext): void {
  const out = node.outputs[0];
  const shape = ctx.shape(out);
  ctx.reshape(ctx.rowMajor(node.inputs[0]!), ctx.define(out), shape);
}

/** Transpose: no operator; the output is the input stored in another layout. */
export function lowerTranspose(node: Node, ctx: ExportContext): void {
  const x = node.inputs[0]!;
  const rank = ctx.rank(x);
  const perm = node.attr('perm', 'ints', [...identityPerm(rank)].reverse()).map(Number);
  const placed = ctx.placement(x);
  const inverse = invertPerm(perm);
  ctx.place(node.outputs[0], { tensor: placed.tensor, perm: placed.perm.map((axis) => inverse[axis]) });
  ctx.count('Transpose absorbed into the layout (no operator)');
}

/** Concat: CONCATENATION along the axis where the shared layout keeps it. */
export function lowerConcat(node: Node, ctx: ExportContext): void {
  const inputs = node.inputs.filter((v): v is Value => !!v && ctx.shape(v).every((d) => d >= 0));
  const out = node.outputs[0];
  const rank = ctx.rank(out);
  const live = inputs.filter((v) => ctx.shape(v).reduce((a, b) => a * b, 1) > 0);
  const perm = sharedPerm(ctx, live, rank);
  const axis = physicalAxis(perm, normAxis(node.attr('axis', 'int', 0), rank));
  const tensors = live.map((v) => ctx.tensor(v, perm));
  ctx.emit('CONCATENATION', tensors, [ctx.define(out, perm)], 'ConcatenationOptions', {
    axis,
    fused_activation_function: 0,
  });
}

/** Slice: STRIDED_SLICE with every bound resolved against the static shape. */
export function lowerSlice(node: Node, ctx: ExportContext): void {
  const x = node.inputs[0]!;
  const shape = ctx.shape(x);
  const rank = shape.length;
  const starts = listInput(ctx, node, 1, 'starts', 'starts')!;
  const ends = listInput(ctx, node, 2, 'ends', 'ends')!;
  const axes = (listInput(ctx, node, 3, 'axes', 'axes') ?? starts.map((_, i) => i)).map((a) => normAxis(a, rank));
  const steps = listInput(ctx, node, 4, '', 'steps') ?? starts.map(() => 1);
  const begin = identityPerm(rank).map(() => 0);
  const end = [...shape];
  const stride = shape.map(() => 1);
  let endMask = 0;
  const perm = ctx.placement(x).perm;
  axes.forEach((axis, i) => {
    const dim = shape[axis];
    const step = steps[i];
    const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v < 0 ? v + dim : v, lo), hi);
    begin[axis] = step > 0 ? clamp(starts[i], 0, dim) : clamp(starts[i], 0, dim - 1);
    end[axis] = step > 0 ? clamp(ends[i], 0, dim) : clamp(ends[i], -1, dim - 1);
    stride[axis] = step;
    if (step < 0 && end[axis] === -1) endMask |= 1 << physicalAxis(perm, axis);
  });
  const name = node.name || node.outputs[0].name;
  const physical = (values: number[]) => perm.map((axis) => values[axis]);
  ctx.emit(
    'STRIDED_SLICE',
    [
      ctx.tensor(x, perm),
      ctx.int32(`${name}/begin`, physical(begin)),
      ctx.int32(`${name}/end`, physical(end)),
      ctx.int32(`${name}/strides`, physical(stride)),
    ],
    [ctx.define(node.outputs[0], perm)],
    'StridedSliceOptions',
    { end_mask: endMask },
  );
}

/** Split: SPLIT_V along the axis where the input's layout keeps it. */
export function lowerSplit(node: Node, ctx: ExportContext): void {
  const x = node.inputs[0]!;
  const rank = ctx.rank(x);
  const axis = normAxis(node.attr('axis', 'int', 0), rank);
  const perm = ctx.placement(x).perm;
  const sizes = node.outputs.map((o) => ctx.shape(o)[axis]);
  const name = node.name || node.outputs[0].name;
  const outputs = node.outputs.map((o) => ctx.define(o, perm));
  ctx.emit(
    'SPLIT_V',
    [ctx.tensor(x, perm), ctx.int32(`${name}/sizes`, sizes), ctx.int32(`${name}/axis`, [physicalAxis(perm, axis)], [])],
    outputs,
    'SplitVOptions',
    { num_splits: outputs.length },
  );
}

/** Gather: GATHER; constant indices become int32 with negative ones resolved. */
export function lowerGather(node: Node, ctx: ExportContext): void {
  const [x, indices] = [node.inputs[0]!, node.inputs[1]!];
  const shape = ctx.shape(x);
  const axis = normAxis(node.attr('axis', 'int', 0), shape.length);
  const indexRank = indices.const ? indices.const.dims.length : ctx.rank(indices);
  const current = ctx.placement(x).perm;
  const perm: Perm = indexRank <= 1 ? current : identityPerm(shape.length);
  const outPerm = indexRank === 0 ? dropAxes(perm, [axis]) : perm;
  let index: number;
  if (indices.const) {
    const resolved = indices.const.toNumbers().map((i) => (i < 0 ? i + shape[axis] : i));
    index = ctx.int32(`${indices.name}/int32`, resolved, indices.const.dims);
  } else index = ctx.tensor(indices);
  ctx.emit('GATHER', [ctx.tensor(x, perm), index], [ctx.define(node.outputs[0], outPerm)], 'GatherOptions', {
    axis: physicalAxis(perm, axis),
  });
}

/** Pad: PAD, PADV2 for another constant value, MIRROR_PAD for reflect; pads remapped to the layout. */
export function lowerPad(node: Node, ctx: ExportContext): void {
  const x = node.inputs[0]!;
  const rank = ctx.rank(x);
  const mode = node.attr('mode', 'string', 'constant');
  const pads = listInput(ctx, node, 1, 'pads', 'pads')!;
  const axes = (node.inputs[3] ? ctx.constInput(node, 3, 'axes').toNumbers() : identityPerm(rank)).map((a) =>
    normAxis(a, rank),
  );
  if (pads.some((p) => p < 0)) ctx.unsupported(node, 'negative pads (crops); TFLite pads only add');
  const before = identityPerm(rank).map(() => 0);
  const after = identityPerm(rank).map(() => 0);
  axes.forEach((axis, i) => {
    before[axis] = pads[i];
    after[axis] = pads[i + axes.length];
  });
  const perm = ctx.placement(x).perm;
  const name = node.name || node.outputs[0].name;
  const padding = ctx.int32(
    `${name}/paddings`,
    perm.flatMap((axis) => [before[axis], after[axis]]),
    [rank, 2],
  );
  const inputs = [ctx.tensor(x, perm), padding];
  const output = ctx.define(node.outputs[0], perm);
  if (mode === 'reflect')
    return ctx.emit('MIRROR_PAD', inputs, [output], 'MirrorPadOptions', { mode: MirrorPadMode.REFLECT });
  if (mode !== 'constant') ctx.unsupported(node, `mode '${mode}': TFLite pads with a constant or a reflection`);
  const value = node.inputs[2] ? ctx.constInput(node, 2, 'constant value').toNumbers()[0] : 0;
  if (value === 0) return ctx.emit('PAD', inputs, [output], 'PadOptions', {});
  const dtype = x.dtype ?? 'float32';
  const fill = ctx.graph.addConstant(`${name}/value`, Tensor.from(dtype, [], [value]));
  ctx.emit('PADV2', [...inputs, fill], [output], 'PadV2Options', {});
}

/**
 * Cast: CAST between TFLite's types; a Cast to its input's own type (PyTorch's STFT writes one)
 * passes the input through, as Identity: no CAST, which has no int8 kernel.
 */
export function lowerCast(node: Node, ctx: ExportContext): void {
  const x = node.inputs[0]!;
  const out = node.outputs[0];
  if (x.dtype !== undefined && x.dtype === out.dtype) return lowerIdentity(node, ctx);
  const perm = ctx.placement(x).perm;
  const from = requireTensorType(x.dtype ?? 'float32', 'Cast', node.name);
  const to = requireTensorType(out.dtype ?? 'float32', 'Cast', node.name);
  ctx.emit('CAST', [ctx.tensor(x, perm)], [ctx.define(out, perm)], 'CastOptions', {
    in_data_type: from,
    out_data_type: to,
  });
}

const REDUCERS = {
  ReduceMean: 'MEAN',
  ReduceMax: 'REDUCE_MAX',
  ReduceMin: 'REDUCE_MIN',
  ReduceSum: 'SUM',
  ReduceProd: 'REDUCE_PROD',
} as const;

/** ReduceMean/Max/Min/Sum/Prod over axes remapped to the input's layout. */
export function lowerReduce(node: Node, ctx: ExportContext): void {
  const x = node.inputs[0]!;
  const rank = ctx.rank(x);
  const fromInput = node.inputs[1] !== undefined;
  let axes = fromInput ? ctx.constInput(node, 1, 'axes').toNumbers() : node.attr('axes', 'ints', []).map(Number);
  if (!axes.length) {
    if (node.attr('noop_with_empty_axes', 'int', 0)) return ctx.place(node.outputs[0], ctx.placement(x));
    axes = identityPerm(rank);
  }
  axes = axes.map((a) => normAxis(a, rank));
  const keep = node.attr('keepdims', 'int', 1) === 1;
  const perm = ctx.placement(x).perm;
  const op = REDUCERS[node.opType as keyof typeof REDUCERS];
  const name = node.name || node.outputs[0].name;
  const physicalAxes = axes.map((a) => physicalAxis(perm, a));
  ctx.emit(
    op,
    [ctx.tensor(x, perm), ctx.int32(`${name}/axes`, physicalAxes)],
    [ctx.define(node.outputs[0], keep ? perm : dropAxes(perm, axes))],
    'ReducerOptions',
    { keep_dims: keep },
  );
}

/** DepthToSpace (DCR, TensorFlow's order) and SpaceToDepth: DEPTH_TO_SPACE / SPACE_TO_DEPTH in NHWC. */
export function lowerDepthSpace(node: Node, ctx: ExportContext): void {
  const x = node.inputs[0]!;
  if (ctx.rank(x) !== 4) ctx.unsupported(node, 'a rank other than 4');
  const toSpace = node.opType === 'DepthToSpace';
  if (toSpace && node.attr('mode', 'string', 'DCR') !== 'DCR')
    ctx.unsupported(node, "mode 'CRD': TFLite's DEPTH_TO_SPACE takes channels in DCR order");
  const nhwc = [0, 2, 3, 1];
  ctx.emit(
    toSpace ? 'DEPTH_TO_SPACE' : 'SPACE_TO_DEPTH',
    [ctx.tensor(x, nhwc)],
    [ctx.define(node.outputs[0], nhwc)],
    toSpace ? 'DepthToSpaceOptions' : 'SpaceToDepthOptions',
    { block_size: node.attr('blocksize', 'int', 1) },
  );
}

/** ArgMax and ArgMin: ARG_MAX / ARG_MIN (int64 indices), RESHAPEd to keep the axis for keepdims 1. */
export function lowerArgReduce(node: Node, ctx: ExportContext): void {
  const x = node.inputs[0]!;
  const rank = ctx.rank(x);
  const axis = normAxis(node.attr('axis', 'int', 0), rank);
  if (node.attr('select_last_index', 'int', 0)) ctx.unsupported(node, 'select_last_index 1: TFLite returns the first');
  const perm = ctx.placement(x).perm;
  const dropped = dropAxes(perm, [axis]);
  const keep = node.attr('keepdims', 'int', 1) === 1;
  const out = node.outputs[0];
  const name = node.name || out.name;
  const isMax = node.opType === 'ArgMax';
  const physicalOut = ctx.graph.tensors[ctx.tensor(x, perm)].shape.filter((_, i) => i !== physicalAxis(perm, axis));
  const target = keep ? ctx.scratch(`${name}/squeezed`, physicalOut, 'int64') : ctx.define(out, dropped);
  ctx.emit(
    isMax ? 'ARG_MAX' : 'ARG_MIN',
    [ctx.tensor(x, perm), ctx.int32(`${name}/axis`, [physicalAxis(perm, axis)])],
    [target],
    isMax ? 'ArgMaxOptions' : 'ArgMinOptions',
    { output_type: requireTensorType('int64', node.opType, name) },
  );
  if (keep) {
    const output = ctx.define(out, perm);
    ctx.reshape(target, output, ctx.graph.tensors[output].shape);
  }
}

/** Tile: TILE with the repeats in the input's layout. */
export function lowerTile(node: Node, ctx: ExportContext): void {
  const x = node.inputs[0]!;
  const repeats = ctx.constInput(node, 1, 'repeats').toNumbers();
  const perm = ctx.placement(x).perm;
  const name = node.name || node.outputs[0].name;
  ctx.emit(
    'TILE',
    [
      ctx.tensor(x, perm),
      ctx.int32(
        `${name}/multiples`,
        perm.map((a) => repeats[a]),
      ),
    ],
    [ctx.define(node.outputs[0], perm)],
  );
}

/** Expand: BROADCAST_TO the output's static shape, in the input's layout. */
export function lowerExpand(node: Node, ctx: ExportContext): void {
  const x = node.inputs[0]!;
  const out = node.outputs[0];
  const rank = ctx.rank(out);
  const perm = sharedPerm(ctx, [x], rank);
  const output = ctx.define(out, perm);
  const shape = ctx.graph.tensors[output].shape;
  const name = node.name || out.name;
  ctx.emit('BROADCAST_TO', [ctx.broadcastTensor(x, rank, perm), ctx.int32(`${name}/shape`, shape)], [output]);
}
