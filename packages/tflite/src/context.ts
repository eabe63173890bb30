/**
 * What lowering one ONNX node to TFLite operators needs: where each ONNX value lives (a TFLite
 * tensor and the layout it is stored in), layout changes on demand (each made once per value
 * and layout, and a RESHAPE instead of a TRANSPOSE where only axes of size 1 move), constants
 * laid out at export time instead of at run time, and the tally the report shows.
 *
 * This is the layout pass: every op says which layout it needs its inputs in (NHWC for
 * convolutions and pools, the ONNX layout for Reshape and graph outputs) or takes them as they
 * are (layout-neutral ops, with their axes remapped), and a layout change is made only where a
 * value is stored in one layout and needed in another. ONNX Transposes change no data: their
 * output is their input seen in another layout, so transpose pairs cancel by construction.
 */
import { Node, ShapeError, Tensor, UnsupportedOpError, evaluateNode, type Value } from '@edgeml/core';
import {
  identityPerm,
  isIdentity,
  isReshapeOnly,
  permuteDims,
  samePerm,
  transposeBetween,
  type Perm,
} from './layout.js';
import { Activation, type ActivationCode, type BuiltinOperatorName, type BuiltinOptionsName } from './schema.js';
import { TfliteGraph, requireTensorType, type TfliteOperator } from './tflite-graph.js';

/** Element types TFLite's float kernels compute in. */
const COMPUTED_DTYPES = new Set(['float32', 'int32', 'int64', 'bool']);

/** Where a value lives: a TFLite tensor, stored with its logical axes in the order `perm`. */
export interface Placement {
  tensor: number;
  perm: number[];
}

export type OptionValues = Record<string, number | boolean | number[]>;

/** An activation that can be fused into the op producing its input. */
export interface FusedActivation {
  code: ActivationCode;
  /** The activation node, lowered as part of its producer. */
  node: Node;
}

export class ExportContext {
  /** Nodes lowered as part of another (activations fused into their producer). */
  readonly consumed = new Set<Node>();
  /** What was fused or lowered, by description, for the report. */
  readonly tally = new Map<string, number>();
  /**
   * Scale and zero point of activations by value name, for the full-integer export: a tensor
   * defined for such a value carries them (still float32; full-integer.ts makes it int8).
   */
  activationQuantization?: ReadonlyMap<string, { scale: number; zeroPoint: number }>;
  private readonly placements = new Map<Value, Placement>();
  private readonly layouts = new Map<Value, Map<string, number>>();
  private readonly graphOutputs: Set<Value>;

  constructor(
    readonly opset: number,
    graphOutputs: readonly Value[],
    /** The subgraph written to: the file's main graph, or an IF branch made with `graph.subgraph()`. */
    readonly graph: TfliteGraph = new TfliteGraph(),
  ) {
    this.graphOutputs = new Set(graphOutputs);
  }

  count(what: string, n = 1): void {
    this.tally.set(what, (this.tally.get(what) ?? 0) + n);
  }

  /** The static logical shape of `v`; a ShapeError naming it when a dimension is unknown. */
  shape(v: Value): number[] {
    const dims = v.shape;
    if (!dims || dims.some((d) => typeof d !== 'number' || d < 0))
      throw new ShapeError(
        `value '${v.name}' has shape [${(dims ?? ['?']).join(', ')}]: TFLite needs static shapes; fix the model's dynamic input dimensions with --shape name=1x3x224x224 (shapes: { name: [...] })`,
        v.producer()?.name,
      );
    return dims as number[];
  }

  rank(v: Value): number {
    return this.shape(v).length;
  }

  isGraphOutput(v: Value): boolean {
    return this.graphOutputs.has(v);
  }

  /** Where `v` is now; constants are placed in the ONNX layout on first use. */
  placement(v: Value): Placement {
    const placed = this.placements.get(v);
    if (placed) return placed;
    if (v.const)
      return { tensor: this.tensor(v, identityPerm(v.const.dims.length)), perm: identityPerm(v.const.dims.length) };
    throw new UnsupportedOpError(
      v.producer()?.opType ?? 'Input',
      '',
      this.opset,
      `value '${v.name}' is read before it is computed (its producer was not lowered)`,
      v.producer()?.name,
    );
  }

  /** Whether `v` has been computed (or is a constant). */
  isPlaced(v: Value): boolean {
    return !!v.const || this.placements.has(v);
  }

  /** Record that `v` lives in `placement` (a graph input, or an op whose output needs no tensor of its own). */
  place(v: Value, placement: Placement): void {
    this.placements.set(v, { tensor: placement.tensor, perm: [...placement.perm] });
  }

  /** A new tensor for the output `v` of an op, stored in layout `perm` (default: the ONNX layout). */
  define(v: Value, perm: Perm = identityPerm(this.rank(v)), dtype = v.dtype ?? 'float32'): number {
    if (!COMPUTED_DTYPES.has(dtype)) {
      const node = v.producer();
      throw new UnsupportedOpError(
        node?.opType ?? 'Input',
        '',
        this.opset,
        `${node ? `node '${node.name || node.opType}' (${node.opType}) computes` : `input '${v.name}' is`} ${dtype}: the float export computes in float32, int32, int64 and bool (TFLite's other integer kernels need quantization parameters)`,
        node?.name,
      );
    }
    const type = requireTensorType(dtype, v.producer()?.opType ?? 'Input', v.producer()?.name ?? v.name);
    const tensor = this.graph.addTensor(v.name, permuteDims(this.shape(v), perm), type);
    const q = this.activationQuantization?.get(v.name);
    if (q) this.graph.tensors[tensor].quantization = { scale: [q.scale], zeroPoint: [q.zeroPoint], dimension: 0 };
    this.place(v, { tensor, perm: [...perm] });
    return tensor;
  }

  /** A tensor for an intermediate result of a lowering, of physical shape `shape`. */
  scratch(name: string, shape: readonly number[], dtype: Parameters<typeof requireTensorType>[0] = 'float32'): number {
    return this.graph.addTensor(name, shape, requireTensorType(dtype, 'intermediate', name));
  }

  /** `v` as a tensor stored in layout `perm` (default: the ONNX layout), changing layout if needed. */
  tensor(v: Value, perm?: Perm): number {
    const want = perm ?? identityPerm(v.const ? v.const.dims.length : this.rank(v));
    const key = want.join(',');
    const cached = this.layouts.get(v)?.get(key);
    if (cached !== undefined) return cached;
    let index: number;
    if (v.const) index = this.graph.addConstant(v.name, transposeConstant(v.const, want));
    else {
      const from = this.placement(v);
      if (samePerm(from.perm, want)) return from.tensor;
      index = this.relayout(v, from, want);
    }
    if (!this.layouts.has(v)) this.layouts.set(v, new Map());
    this.layouts.get(v)!.set(key, index);
    return index;
  }

  /**
   * `v` stored in layout `perm` of rank `rank` ≥ its own: a lower-rank operand of a
   * broadcasting op gets leading axes of size 1 first, as ONNX broadcasting aligns the right.
   */
  broadcastTensor(v: Value, rank: number, perm: Perm): number {
    const own = v.const ? v.const.dims.length : this.rank(v);
    if (own === rank) return this.tensor(v, perm);
    const dims = [...new Array<number>(rank - own).fill(1), ...(v.const ? v.const.dims : this.shape(v))];
    if (v.const) return this.graph.addConstant(v.name, transposeConstant(v.const.reshape(dims), perm));
    const reshaped = this.scratch(`${v.name}/rank${rank}`, dims, v.dtype);
    this.reshape(this.tensor(v), reshaped, dims);
    return this.relayoutTensor(`${v.name}/rank${rank}`, reshaped, dims, identityPerm(rank), perm, v.dtype);
  }

  private relayout(v: Value, from: Placement, to: Perm): number {
    return this.relayoutTensor(v.name, from.tensor, this.shape(v), from.perm, to, v.dtype);
  }

  private relayoutTensor(
    name: string,
    tensor: number,
    logical: readonly number[],
    from: Perm,
    to: Perm,
    dtype: Value['dtype'],
  ): number {
    if (samePerm(from, to)) return tensor;
    const physical = permuteDims(logical, from);
    const target = permuteDims(logical, to);
    const out = this.scratch(`${name}/${layoutName(to)}`, target, dtype ?? 'float32');
    const transpose = transposeBetween(from, to);
    if (isReshapeOnly(physical, transpose)) {
      this.reshape(tensor, out, target);
      this.count('layout changes done by RESHAPE (only size-1 axes move)');
    } else {
      const permTensor = this.graph.addInt32(`${name}/perm`, [transpose.length], transpose);
      this.emit('TRANSPOSE', [tensor, permTensor], [out], 'TransposeOptions', {});
      this.count('layout TRANSPOSEs inserted');
    }
    return out;
  }

  /**
   * A tensor whose memory holds `v` in ONNX row-major order, which is all a RESHAPE needs: the
   * tensor `v` is in when only size-1 axes are out of place (NHWC [N, 1, 1, C] for NCHW
   * [N, C, 1, 1]), its ONNX-layout copy otherwise.
   */
  rowMajor(v: Value): number {
    if (v.const) return this.tensor(v);
    const from = this.placement(v);
    const physical = permuteDims(this.shape(v), from.perm);
    if (isReshapeOnly(physical, transposeBetween(from.perm, identityPerm(from.perm.length)))) return from.tensor;
    return this.tensor(v);
  }

  /** A RESHAPE of `input` into `output` with shape `shape`. */
  reshape(input: number, output: number, shape: readonly number[]): void {
    const shapeTensor = this.graph.addInt32(`${this.graph.tensors[output].name}/shape`, [shape.length], shape);
    this.emit('RESHAPE', [input, shapeTensor], [output], 'ReshapeOptions', { new_shape: [...shape] });
  }

  /** An int32 constant. */
  int32(name: string, values: readonly number[], dims: readonly number[] = [values.length]): number {
    return this.graph.addInt32(name, dims, values);
  }

  /** A float32 constant. */
  float32(name: string, values: readonly number[] | Float32Array, dims: readonly number[] = [values.length]): number {
    return this.graph.addConstant(name, Tensor.from('float32', dims, Float32Array.from(values)));
  }

  emit(
    op: BuiltinOperatorName,
    inputs: number[],
    outputs: number[],
    optionsType?: BuiltinOptionsName,
    values: OptionValues = {},
  ): void {
    const operator: TfliteOperator = { op, inputs, outputs };
    if (optionsType) operator.options = { type: optionsType, values };
    this.graph.addOperator(operator);
  }

  /**
   * The activation consuming `node`'s only output, when TFLite can fuse it into the op that
   * produces it: Relu, Clip to [0, 6] or [-1, 1]. The activation must be that output's only
   * reader, and the output must not be a graph output (its pre-activation value would be lost).
   */
  fusibleActivation(node: Node): FusedActivation | undefined {
    const out = node.outputs[0];
    const uses = out.uses();
    if (uses.length !== 1 || this.isGraphOutput(out)) return undefined;
    const next = uses[0].node;
    if (next.domain !== '' && next.domain !== 'ai.onnx') return undefined;
    if (next.opType === 'Relu') return { code: Activation.RELU, node: next };
    if (next.opType !== 'Clip') return undefined;
    const [lo, hi] = clipBounds(next);
    if (lo === 0 && hi === 6) return { code: Activation.RELU6, node: next };
    if (lo === -1 && hi === 1) return { code: Activation.RELU_N1_TO_1, node: next };
    return undefined;
  }

  /** The output value of `node` after `fused` (if any): the value the fused op writes. */
  fuse(node: Node, fused: FusedActivation | undefined): { out: Value; activation: ActivationCode } {
    if (!fused) return { out: node.outputs[0], activation: Activation.NONE };
    this.consumed.add(fused.node);
    this.count(`${fused.node.opType} fused into ${node.opType}`);
    return { out: fused.node.outputs[0], activation: fused.code };
  }

  unsupported(node: Node, why: string): never {
    throw new UnsupportedOpError(
      node.opType,
      node.domain,
      this.opset,
      `node '${node.name || node.opType}' (${node.opType}): ${why}`,
      node.name,
    );
  }

  /** The constant behind input `index` of `node`, or an UnsupportedOpError saying it must be one. */
  constInput(node: Node, index: number, what: string): Tensor {
    const t = node.inputs[index]?.const;
    if (!t) this.unsupported(node, `its ${what} (input ${index}) must be a constant for TFLite`);
    return t;
  }
}

/** [min, max] of a Clip (attributes before opset 11, inputs after); ±Infinity where absent. */
export function clipBounds(node: Node): [number, number] {
  const attrMin = node.attr('min', 'float');
  const attrMax = node.attr('max', 'float');
  const input = (i: number) => {
    const v = node.inputs[i];
    if (!v) return undefined;
    if (!v.const) return NaN;
    return v.const.toNumbers()[0];
  };
  return [input(1) ?? attrMin ?? -Infinity, input(2) ?? attrMax ?? Infinity];
}

const layoutName = (perm: Perm) =>
  isIdentity(perm) ? 'onnx' : perm.length === 4 && perm.join() === '0,2,3,1' ? 'nhwc' : `p${perm.join('')}`;

/** `t` with its axes in the order `perm` (a copy unless `perm` is the identity). */
export function transposeConstant(t: Tensor, perm: Perm): Tensor {
  if (isIdentity(perm)) return t;
  const node = new Node({ opType: 'Transpose', attributes: { perm: [...perm] }, inputs: [], outputs: 1 });
  const out = evaluateNode(node, [t], 13);
  if (!out) throw new Error(`internal: cannot transpose a ${t.dtype} constant`);
  return out[0];
}
