/**
 * What an opset adapter works with: the node being converted, the step it takes (one opset up
 * or down), what is known of value types, and helpers that build or read the constants that
 * attribute ↔ input conversions need. Every failure goes through {@link AdapterContext.fail},
 * so each refusal is an {@link OpsetConversionError} naming the node, the op and both opsets.
 */
import { OpsetConversionError } from '../../errors.js';
import { GraphBuilder } from '../../ir/editing.js';
import type { Graph } from '../../ir/graph.js';
import type { Node } from '../../ir/node.js';
import type { Dim, TensorType } from '../../ir/types.js';
import type { Value } from '../../ir/value.js';
import { evaluateNode } from '../../ops/eval.js';
import { fromFloat64 } from '../../ops/numeric.js';
import { isDefaultDomain } from '../../ops/op-schema.js';
import type { DType } from '../../tensor/dtype.js';
import type { Tensor } from '../../tensor/tensor.js';

/** Types known per value name (declared, or inferred on a copy of the input model). */
export type TypeFacts = ReadonlyMap<string, TensorType>;

export class AdapterContext {
  /** Opset of the node's current form and of the form this step produces. */
  constructor(
    readonly node: Node,
    readonly from: number,
    readonly to: number,
    private readonly facts: TypeFacts,
  ) {}

  get graph(): Graph {
    return this.node.graph!;
  }

  get label(): string {
    return this.node.name || this.node.opType;
  }

  /** Refuse the step: `what` says what has no equivalent, `fix` what the user can do. */
  fail(what: string, fix: string): never {
    throw new OpsetConversionError(
      { nodeName: this.node.name, opType: this.node.opType, from: this.from, to: this.to },
      `node '${this.label}' (${this.node.opType}): cannot convert from opset ${this.from} to ${this.to}: ${what}; ${fix}`,
    );
  }

  private typeOf(v: Value | undefined): TensorType | undefined {
    if (!v) return undefined;
    if (v.const) return { kind: 'tensor', dtype: v.const.dtype, shape: [...v.const.dims] };
    if (v.type?.kind === 'tensor' && v.type.dtype !== undefined && v.type.shape) return v.type;
    const inferred = this.facts.get(v.name);
    const declared = v.type?.kind === 'tensor' ? v.type : undefined;
    return { kind: 'tensor', dtype: declared?.dtype ?? inferred?.dtype, shape: declared?.shape ?? inferred?.shape };
  }

  dtype(v: Value | undefined): DType | undefined {
    return this.typeOf(v)?.dtype;
  }

  shape(v: Value | undefined): Dim[] | undefined {
    return this.typeOf(v)?.shape;
  }

  rank(v: Value | undefined): number | undefined {
    return this.shape(v)?.length;
  }

  /** The element type of input `index`, or a refusal saying the conversion needs it. */
  requireDtype(index: number, why: string): DType {
    const dtype = this.dtype(this.node.inputs[index]);
    if (!dtype) this.fail(`${why} needs the element type of input ${index}, which the model does not record`, DECLARE);
    return dtype;
  }

  /** The rank of input `index`, or a refusal saying the conversion needs it. */
  requireRank(index: number, why: string): number {
    const rank = this.rank(this.node.inputs[index]);
    if (rank === undefined) this.fail(`${why} needs the rank of input ${index}, which is not known`, DECLARE);
    return rank;
  }

  /** Builds nodes and initializers next to this node, named after it. */
  builder(): GraphBuilder {
    return new GraphBuilder(this.graph, this.label);
  }

  /** A new int64 initializer (1-D, or a scalar when `scalar`) named from `base`. */
  ints(base: string, values: readonly number[], scalar = false): Value {
    return this.builder().constant(
      `${this.label}_${base}`,
      fromFloat64('int64', scalar ? [] : [values.length], values),
    );
  }

  /** A new scalar initializer of `dtype` named from `base`. */
  scalar(base: string, dtype: DType, value: number): Value {
    return this.builder().constant(`${this.label}_${base}`, fromFloat64(dtype, [], [value]));
  }

  /** The value's data when it is constant here: an initializer (not an overridable input) or a Constant's output. */
  constant(v: Value | undefined): Tensor | undefined {
    if (!v) return undefined;
    if (v.const) return v.isGraphInput ? undefined : v.const;
    const producer = v.producer();
    if (producer && producer.opType === 'Constant' && isDefaultDomain(producer))
      return evaluateNode(producer, [], this.from)?.[0];
    return undefined;
  }

  /** Input `index` as numbers when constant; undefined for an empty slot; a refusal when computed at run time. */
  constInput(index: number, what: string): number[] | undefined {
    const v = this.node.inputs[index];
    if (!v) return undefined;
    const t = this.constant(v);
    if (!t)
      this.fail(
        `its ${what} (input ${index}, '${v.name}') is computed at run time, and opset ${this.to} takes it as an attribute`,
        'fold it to a constant first (constantFolding) or keep a higher opset',
      );
    return Array.from(t.toFloat64());
  }

  /** Empty input `index` and drop its constant when nothing else reads it. */
  dropInput(index: number): void {
    const v = this.node.inputs[index];
    this.node.setInput(index, undefined);
    this.trimInputs();
    this.discard(v);
  }

  /** Drop empty trailing input slots. */
  trimInputs(): void {
    let last = this.node.inputs.length;
    while (last > 0 && !this.node.inputs[last - 1]) last--;
    this.node.truncateInputs(last);
  }

  /** Drop a constant (initializer or Constant node) once nothing reads it. */
  discard(v: Value | undefined): void {
    if (v) release(v);
  }

  /** Normalise a possibly negative axis of input `index` (rank `extra` larger for Unsqueeze). */
  axis(axis: number, index: number, why: string, extra = 0): number {
    if (axis >= 0) return axis;
    return axis + this.requireRank(index, why) + extra;
  }
}

const DECLARE =
  'declare the input types and shapes (graph inputs and value_info) or run fixDimensions, then convert again';

/** Remove an initializer or Constant node that no longer has readers. */
function release(v: Value): void {
  if (v.uses().length || v.graph?.outputs.includes(v)) return;
  const producer = v.producer();
  if (producer && producer.opType === 'Constant' && producer.graph) producer.graph.remove(producer);
  else if (v.isInitializer && !v.isGraphInput) v.graph!.removeInitializer(v.name);
}
