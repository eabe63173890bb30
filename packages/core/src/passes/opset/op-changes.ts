/**
 * Version changes particular to one op or a few: Gemm's optional C, Scatter renamed
 * ScatterElements, Pow's separate exponent type, the variadic ops' broadcasting, Constant's
 * attribute forms, Shape's start/end, Reshape's allowzero, CastLike, RoiAlign's and GridSample's
 * modes, the quantization ops' axis and block size, and limits a few ops had before a version.
 */
import { replaceNode } from '../../ir/editing.js';
import { fromFloat64 } from '../../ops/numeric.js';
import { dtypeFromOnnx, dtypeToOnnx, type DType } from '../../tensor/dtype.js';
import { Tensor } from '../../tensor/tensor.js';
import { KEEP, renameOp, type VersionAdapter } from './adapter.js';

export const FLOAT8: DType[] = ['float8e4m3fn', 'float8e4m3fnuz', 'float8e5m2', 'float8e5m2fnuz'];
export const INT4: DType[] = ['int4', 'uint4'];
export const INTEGERS: DType[] = ['int8', 'int16', 'int32', 'int64', 'uint8', 'uint16', 'uint32', 'uint64'];
/** What ops that took only float16/float32/float64 before a version gained then. */
export const NON_FLOAT: DType[] = [...INTEGERS, 'bool', 'string', 'complex64', 'complex128'];

/** Gemm-11: C is optional. Down gives a zero scalar (C broadcasts). */
export const gemm11: VersionAdapter = {
  down: (ctx) => {
    if (ctx.node.inputs[2]) return;
    ctx.node.setInput(2, ctx.scalar('C_zero', ctx.requireDtype(0, 'a zero C'), 0));
  },
};

/** Scatter is deprecated at 11: ScatterElements-11 is the same op. */
export const scatter11: VersionAdapter = { up: (ctx) => void renameOp(ctx, 'ScatterElements') };

/** Below 11 ScatterElements is Scatter-9 (whose axis is not negative). */
export const scatterElements11: VersionAdapter = {
  down: (ctx) => {
    const axis = ctx.node.attr('axis', 'int', 0);
    if (axis < 0) ctx.node.setAttr('axis', 'int', ctx.axis(axis, 0, 'making a negative axis positive'));
    renameOp(ctx, 'Scatter');
  },
};

/** Pow-12: the exponent has its own type (integers too). Before, base and exponent shared one float type. */
export const pow12: VersionAdapter = {
  down: (ctx) => {
    const [base, exponent] = ctx.node.inputs.map((v) => ctx.dtype(v));
    const floats = ['float16', 'float32', 'float64'];
    if ((base && !floats.includes(base)) || (base && exponent && base !== exponent))
      ctx.fail(`base ${base} with exponent ${exponent ?? '?'} needs one float type for both before opset 12`, KEEP);
  },
};

/** Max, Min, Mean, Sum at 8: multidirectional broadcasting. Before, every input had one shape. */
export const variadicBroadcast8: VersionAdapter = {
  down: (ctx) => {
    const shapes = ctx.node.inputs.map((v) => ctx.shape(v));
    const first = JSON.stringify(shapes[0]);
    const same = shapes.every((s) => s && s.every((d) => typeof d === 'number') && JSON.stringify(s) === first);
    if (!same) ctx.fail('inputs of different (or unknown) shapes broadcast only from opset 8', KEEP);
  },
};

/** MaxPool-8: the Indices output and storage_order. */
export const maxPool8: VersionAdapter = {
  down: (ctx) => {
    const indices = ctx.node.outputs[1];
    if (indices?.name && (indices.uses().length || ctx.graph.outputs.includes(indices)))
      ctx.fail('the Indices output exists only from opset 8', KEEP);
    if (ctx.node.attr('storage_order', 'int', 0)) ctx.fail('storage_order=1 exists only from opset 8', KEEP);
    ctx.node.attributes.delete('storage_order');
  },
};

/** An ints attribute that appeared with every entry `fill` by default: down refuses other values. */
export function intsAdded(name: string, fill: number): VersionAdapter {
  return {
    down: (ctx) => {
      const values = ctx.node.attr(name, 'ints');
      if (values?.some((v) => v !== fill))
        ctx.fail(`${name}=${JSON.stringify(values)} has no equivalent before opset ${ctx.from}`, KEEP);
      ctx.node.attributes.delete(name);
    },
  };
}

/** Cast: refuse a target type that the older version cannot produce. */
export function castTargets(dtypes: DType[]): VersionAdapter {
  return {
    down: (ctx) => {
      const to = ctx.node.attr('to', 'int');
      const dtype = to === undefined ? undefined : dtypeFromOnnx(to);
      if (ctx.node.opType === 'Cast' && dtype && dtypes.includes(dtype))
        ctx.fail(`casting to ${dtype} is possible only from opset ${ctx.from}`, KEEP);
      ctx.node.attributes.delete('saturate');
    },
  };
}

/** CastLike (15) below 15: a Cast to the element type of its second input, when that is known. */
export const castLike15: VersionAdapter = {
  down: (ctx) => {
    const dtype = ctx.dtype(ctx.node.inputs[1]);
    if (!dtype)
      return ctx.fail("CastLike does not exist before opset 15, and its target's element type is not known", KEEP);
    const like = ctx.node.inputs[1];
    const cast = renameOp(ctx, 'Cast', { to: dtypeToOnnx(dtype) });
    cast.truncateInputs(1);
    ctx.discard(like);
  },
};

/** Reshape-14: allowzero (a 0 in the shape means zero, not "copy"). */
export const reshape14: VersionAdapter = {
  down: (ctx) => {
    if (ctx.node.attr('allowzero', 'int', 0)) {
      const shape = ctx.constant(ctx.node.inputs[1])?.toFloat64();
      if (!shape || shape.includes(0))
        ctx.fail('allowzero=1 with a shape that may hold 0 has no equivalent before opset 14', KEEP);
    }
    ctx.node.attributes.delete('allowzero');
  },
};

/** Constant-9: every element type (before: float types only). */
export const constant9: VersionAdapter = {
  down: (ctx) => {
    const dtype = ctx.node.attr('value', 'tensor')?.dtype;
    if (dtype && !['float16', 'float32', 'float64'].includes(dtype))
      ctx.fail(`a ${dtype} constant is possible only from opset 9`, KEEP);
  },
};

/** Constant-11: sparse_value. */
export const constant11: VersionAdapter = {
  down: (ctx) => {
    if (ctx.node.attributes.has('sparse_value')) ctx.fail('sparse_value exists only from opset 11', KEEP);
  },
};

/** Constant-12: value_float(s), value_int(s), value_string(s); down writes them as a value tensor. */
export const constant12: VersionAdapter = {
  down: (ctx) => {
    const [a] = ctx.node.attributes.values();
    if (!a || a.name === 'value' || a.name === 'sparse_value') return;
    const v = a.value as number | string | number[] | string[];
    const list = Array.isArray(v) ? v : [v];
    const dims = Array.isArray(v) ? [list.length] : [];
    const tensor =
      a.kind === 'string' || a.kind === 'strings'
        ? Tensor.from('string', dims, list as string[])
        : fromFloat64(a.kind.startsWith('float') ? 'float32' : 'int64', dims, list as number[]);
    ctx.node.attributes.delete(a.name);
    ctx.node.setAttr('value', 'tensor', tensor);
  },
};

/** Shape-15: start and end; down slices the full shape. */
export const shape15: VersionAdapter = {
  down: (ctx) => {
    const node = ctx.node;
    const start = node.attr('start', 'int', 0);
    const end = node.attr('end', 'int');
    node.attributes.delete('start');
    node.attributes.delete('end');
    if (start === 0 && end === undefined) return;
    const b = ctx.builder();
    const out = node.outputs[0];
    const [full] = b.op('Shape', [node.inputs[0]], {}, [`${out.name}_full`]);
    const bounds = [ctx.ints('start', [start]), ctx.ints('end', [end ?? 2 ** 63])];
    const [sliced] = b.op('Slice', [full, ...bounds, ctx.ints('axes', [0])], {}, [out.name]);
    replaceNode(node, b.nodes, [sliced]);
  },
};

/** RoiAlign-16: coordinate_transformation_mode (default half_pixel); before, output_half_pixel was the only one. */
export const roiAlign16: VersionAdapter = {
  up: (ctx) => ctx.node.setAttr('coordinate_transformation_mode', 'string', 'output_half_pixel'),
  down: (ctx) => {
    const mode = ctx.node.attr('coordinate_transformation_mode', 'string', 'half_pixel');
    if (mode !== 'output_half_pixel')
      ctx.fail(`coordinate_transformation_mode '${mode}' has no equivalent before opset 16`, KEEP);
    ctx.node.attributes.delete('coordinate_transformation_mode');
  },
};

/** ScatterElements/ScatterND-18: reduction 'max' and 'min'. */
export const scatterReduction18: VersionAdapter = {
  down: (ctx) => {
    const reduction = ctx.node.attr('reduction', 'string', 'none');
    if (reduction === 'max' || reduction === 'min')
      ctx.fail(`reduction '${reduction}' exists only from opset 18`, KEEP);
  },
};

const GRID_MODES: Record<string, string> = { bilinear: 'linear', bicubic: 'cubic' };

/** GridSample-20: modes renamed (bilinear → linear, bicubic → cubic) and N-D inputs. */
export const gridSample20: VersionAdapter = {
  up: (ctx) => {
    const mode = ctx.node.attr('mode', 'string', 'bilinear');
    ctx.node.setAttr('mode', 'string', GRID_MODES[mode] ?? mode);
  },
  down: (ctx) => {
    const rank = ctx.rank(ctx.node.inputs[0]);
    if (rank !== undefined && rank !== 4) ctx.fail(`a rank-${rank} input is possible only from opset 20`, KEEP);
    const mode = ctx.node.attr('mode', 'string', 'linear');
    const old = Object.entries(GRID_MODES).find(([, v]) => v === mode)?.[0];
    ctx.node.setAttr('mode', 'string', old ?? mode);
  },
};

/** QuantizeLinear/DequantizeLinear-13: per-axis scale and zero point. */
export const quantize13: VersionAdapter = {
  down: (ctx) => {
    const scale = ctx.node.inputs[1];
    const shape = ctx.shape(scale);
    const size = shape?.reduce<number>((n, d) => n * (typeof d === 'number' ? d : NaN), 1);
    if (size !== 1) ctx.fail('a per-axis (or unknown-size) scale exists only from opset 13', KEEP);
    ctx.node.attributes.delete('axis');
  },
};

/** QuantizeLinear/DequantizeLinear-21: blocked quantization and output_dtype. */
export const quantize21: VersionAdapter = {
  down: (ctx) => {
    const node = ctx.node;
    if (node.attr('block_size', 'int', 0))
      ctx.fail('blocked quantization (block_size) exists only from opset 21', KEEP);
    node.attributes.delete('block_size');
    const code = node.attr('output_dtype', 'int', 0);
    const zeroPoint = ctx.dtype(node.inputs[2]) ?? 'uint8';
    if (code && dtypeFromOnnx(code) !== zeroPoint)
      ctx.fail(`output_dtype ${dtypeFromOnnx(code)} differs from the zero point's type before opset 21`, KEEP);
    node.attributes.delete('output_dtype');
  },
};

/** OneHot-11: negative indices count from the back; before they gave an all-off row. */
export const oneHot11: VersionAdapter = {
  down: (ctx) => {
    const indices = ctx.constant(ctx.node.inputs[0]);
    if (!indices || indices.toFloat64().some((i) => i < 0))
      ctx.fail('indices that may be negative count from the back only from opset 11', KEEP);
  },
};

/** Scan-9 dropped the batch axis and sequence_lens: not a rewrite of one node. */
export const scan9: VersionAdapter = {
  up: (ctx) => ctx.fail('Scan-8 (batched, with sequence_lens) has no exact rewrite as Scan-9', KEEP),
  down: (ctx) => ctx.fail('Scan-9 (per-input axes, no batch) has no exact rewrite as Scan-8', KEEP),
};

/** Scan-11: negative scan axes. */
export const scan11: VersionAdapter = {
  down: (ctx) => {
    for (const name of ['scan_input_axes', 'scan_output_axes'])
      if (ctx.node.attr(name, 'ints')?.some((a) => a < 0))
        ctx.fail(`negative ${name} are allowed only from opset 11`, KEEP);
  },
};
