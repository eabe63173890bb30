import { GraphError, InvalidArgumentError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { Value } from './value.js';
import type { Attribute, AttributeKind, AttributeValueMap } from './attribute.js';
import type { Graph } from './graph.js';

export interface NodeInit {
  opType: string;
  domain?: string;
  name?: string;
  inputs?: readonly (Value | undefined)[];
  /** Output values, or names for new ones. */
  outputs?: readonly (Value | string)[] | number;
  attributes?: readonly Attribute[] | Record<string, Attribute['value']>;
  overload?: string;
  docString?: string;
}

/**
 * One operator application. Inputs are Values or empty slots (optional inputs left out);
 * outputs are Values this node produces. Editing inputs keeps every Value's use list exact.
 *
 * @example
 * ```ts
 * const relu = new Node({ opType: 'Relu', inputs: [x], outputs: ['y'] });
 * graph.append(relu);
 * relu.outputs[0].uses();
 * ```
 */
export class Node {
  /** Optional proto fields present with default values in the source file (kept for lossless round trips). @internal */
  explicitDefaults?: Set<string>;
  opType: string;
  domain: string;
  private _name = '';
  overload: string;
  docString: string;
  metadata = new Map<string, string>();
  readonly attributes = new Map<string, Attribute>();
  /** The graph this node is in, if any. */
  graph: Graph | undefined;
  /** Raw protobuf fields this version does not model (e.g. device configurations), written back as-is. */
  unknownFields: Uint8Array[] | undefined;
  /** @internal linked-list links, managed by Graph. */ _prev: Node | undefined;
  /** @internal */ _next: Node | undefined;
  /** @internal */ _removed = false;
  private readonly _inputs: (Value | undefined)[] = [];
  private readonly _outputs: Value[] = [];

  constructor(init: NodeInit) {
    this.opType = init.opType;
    this.domain = init.domain ?? '';
    this.name = init.name ?? '';
    this.overload = init.overload ?? '';
    this.docString = init.docString ?? '';
    for (const v of init.inputs ?? []) this.appendInput(v);
    const outs =
      typeof init.outputs === 'number'
        ? Array.from({ length: init.outputs }, (_, i) => `${this.name || this.opType}_out${i}`)
        : (init.outputs ?? []);
    for (const o of outs) this.appendOutput(typeof o === 'string' ? new Value(o) : o);
    const attrs = init.attributes;
    // Array.isArray narrows a readonly array to any[]: name both branches' types.
    if (Array.isArray(attrs)) for (const a of attrs as readonly Attribute[]) this.attributes.set(a.name, a);
    else if (attrs)
      for (const [name, value] of Object.entries(attrs as Record<string, Attribute['value']>))
        this.attributes.set(name, inferAttribute(name, value));
  }

  /** The node's name; renaming records the new name with the graph's name authority. */
  get name(): string {
    return this._name;
  }

  set name(name: string) {
    this._name = name;
    this.graph?._noteNodeName(name);
  }

  get inputs(): readonly (Value | undefined)[] {
    return this._inputs;
  }

  get outputs(): readonly Value[] {
    return this._outputs;
  }

  /** Set input `index` (extending with empty slots if needed); undefined leaves the slot empty. */
  setInput(index: number, value: Value | undefined): void {
    while (this._inputs.length <= index) this._inputs.push(undefined);
    const old = this._inputs[index];
    if (old === value) return;
    old?._removeUse(this, index);
    this._inputs[index] = value;
    value?._addUse(this, index);
  }

  appendInput(value: Value | undefined): void {
    this._inputs.push(undefined);
    this.setInput(this._inputs.length - 1, value);
  }

  /** Drop trailing inputs past `length`. */
  truncateInputs(length: number): void {
    for (let i = this._inputs.length - 1; i >= length; i--) {
      this.setInput(i, undefined);
      this._inputs.pop();
    }
  }

  /** Detach every input (used when a node is deleted). */
  clearInputs(): void {
    this.truncateInputs(0);
  }

  appendOutput(value: Value): void {
    if (value._producer)
      throw new GraphError(
        `value '${value.name}' is already produced by node '${value._producer.node.name || value._producer.node.opType}'; a value has at most one producer`,
        this.name,
      );
    value._producer = { node: this, index: this._outputs.length };
    value.graph = this.graph;
    this._outputs.push(value);
  }

  /**
   * Make this node produce `value` at output `index`, returning the value it replaces.
   * `value` must have no producer, or one that was removed from its graph (so a rewrite can
   * hand the output of a deleted node, with its name and uses, to the node replacing it).
   */
  replaceOutput(index: number, value: Value): Value {
    const old = this._outputs[index];
    const prior = value._producer;
    if (prior && !(prior.node._removed || (prior.node === this && prior.index === index)))
      throw new GraphError(
        `value '${value.name}' is still produced by node '${prior.node.name || prior.node.opType}'; remove that node first`,
        this.name,
      );
    if (prior && prior.node !== this) prior.node._outputs[prior.index] = new Value(`${value.name}__detached`);
    old._producer = undefined;
    value._producer = { node: this, index };
    value.graph = this.graph;
    this._outputs[index] = value;
    return old;
  }

  /** The attribute's value when it is of `kind`, else `fallback`. */
  attr<K extends AttributeKind>(name: string, kind: K): AttributeValueMap[K] | undefined;
  attr<K extends AttributeKind>(name: string, kind: K, fallback: AttributeValueMap[K]): AttributeValueMap[K];
  attr<K extends AttributeKind>(
    name: string,
    kind: K,
    fallback?: AttributeValueMap[K],
  ): AttributeValueMap[K] | undefined {
    const a = this.attributes.get(name);
    if (!a || a.value === undefined) return fallback;
    if (a.kind !== kind)
      throw new InvalidArgumentError(
        `attribute '${name}' of node '${this.name || this.opType}' is ${a.kind}, expected ${kind}`,
        name,
      );
    return a.value as AttributeValueMap[K];
  }

  setAttr<K extends AttributeKind>(name: string, kind: K, value: AttributeValueMap[K]): void {
    this.attributes.set(name, { name, kind, value } as Attribute);
  }

  /** Subgraphs held in attributes (If/Loop/Scan bodies). */
  subgraphs(): Graph[] {
    const out: Graph[] = [];
    for (const a of this.attributes.values()) {
      if (a.kind === 'graph' && a.value) out.push(a.value);
      else if (a.kind === 'graphs' && a.value) out.push(...a.value);
    }
    return out;
  }

  toString(): string {
    return `${this.domain ? `${this.domain}.` : ''}${this.opType}(${this.name})`;
  }
}

function inferAttribute(name: string, value: Attribute['value']): Attribute {
  const mk = (kind: AttributeKind) => ({ name, kind, value }) as Attribute;
  if (typeof value === 'number') return mk(Number.isInteger(value) ? 'int' : 'float');
  if (typeof value === 'string') return mk('string');
  if (Array.isArray(value)) {
    if (value.length === 0) return mk('ints');
    if (typeof value[0] === 'string') return mk('strings');
    if (typeof value[0] === 'number') return mk((value as number[]).every(Number.isInteger) ? 'ints' : 'floats');
  }
  if (value && typeof value === 'object' && 'dtype' in value && 'dims' in value) return mk('tensor');
  throw new InvalidArgumentError(
    `cannot infer the kind of attribute '${name}'; pass an Attribute built with attr(name, kind, value)`,
    name,
  );
}

export type { Tensor };
