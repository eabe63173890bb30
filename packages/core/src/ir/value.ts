import type { Tensor } from '../tensor/tensor.js';
import type { DType } from '../tensor/dtype.js';
import { GraphError } from '../errors.js';
import type { Dim, ValueType } from './types.js';
import type { Node } from './node.js';
import type { Graph } from './graph.js';

/** One use of a value: `node.inputs[index] === value`. */
export interface Use {
  node: Node;
  index: number;
}

/**
 * A named value in a graph: a graph input, a node output, or a constant (initializer).
 *
 * Invariants: at most one producer; `uses()` lists exactly the node inputs that refer to
 * this value (including nodes inside subgraphs that capture it from an outer scope).
 *
 * @example
 * ```ts
 * const x = graph.addInput('x', tensorType('float32', ['batch', 3]));
 * x.uses(); // nodes reading x
 * ```
 */
export class Value {
  /** Optional proto fields present with default values in the source file (kept for lossless round trips). @internal */
  explicitDefaults?: Set<string>;
  private _name: string;
  type: ValueType | undefined;
  /** Constant data: set for initializers. */
  const: Tensor | undefined;
  docString = '';
  metadata = new Map<string, string>();
  /** The graph that owns this value: it is that graph's input, initializer, or a node output in it. */
  graph: Graph | undefined;
  /** @internal */ _producer: { node: Node; index: number } | undefined;
  /** @internal */ readonly _uses: Use[] = [];

  constructor(name: string, type?: ValueType, constValue?: Tensor) {
    this._name = name;
    this.type = type;
    this.const = constValue;
  }

  /** The value's name; renaming records the new name with the graph's name authority. */
  get name(): string {
    return this._name;
  }

  set name(name: string) {
    this._name = name;
    this.graph?._noteValueName(name);
  }

  /** The node that computes this value, if any. */
  producer(): Node | undefined {
    return this._producer?.node;
  }

  /** Which output of its producer this value is. */
  producerIndex(): number | undefined {
    return this._producer?.index;
  }

  /** Every node input that reads this value (a copy; safe to iterate while editing). */
  uses(): Use[] {
    return [...this._uses];
  }

  /** True for a graph initializer. */
  get isInitializer(): boolean {
    return this.const !== undefined && this.graph?.initializers.get(this.name) === this;
  }

  /** True when this value is one of its graph's inputs. */
  get isGraphInput(): boolean {
    return !!this.graph && this.graph.inputs.includes(this);
  }

  /** Element type when the value is a tensor with a known dtype. */
  get dtype(): DType | undefined {
    if (this.const) return this.const.dtype;
    return this.type?.kind === 'tensor' || this.type?.kind === 'sparse_tensor' ? this.type.dtype : undefined;
  }

  /** Shape when the value is a tensor with a known rank. */
  get shape(): Dim[] | undefined {
    if (this.const) return [...this.const.dims];
    return this.type?.kind === 'tensor' || this.type?.kind === 'sparse_tensor' ? this.type.shape : undefined;
  }

  /** Point every use of this value at `other` instead (graph outputs included). */
  replaceAllUsesWith(other: Value): void {
    if (other === this) return;
    for (const { node, index } of this.uses()) node.setInput(index, other);
    const outputs = this.graph?.outputs;
    if (outputs) for (let i = 0; i < outputs.length; i++) if (outputs[i] === this) outputs[i] = other;
  }

  /** @internal */
  _addUse(node: Node, index: number): void {
    this._uses.push({ node, index });
  }

  /** @internal */
  _removeUse(node: Node, index: number): void {
    const i = this._uses.findIndex((u) => u.node === node && u.index === index);
    if (i < 0)
      throw new GraphError(`internal: value '${this.name}' has no use at ${node.name || node.opType}[${index}]`);
    this._uses.splice(i, 1);
  }

  toString(): string {
    return `Value(${this.name})`;
  }
}
