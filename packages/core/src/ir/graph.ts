import { GraphError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import { NameAuthority } from './names.js';
import { Node } from './node.js';
import { Value } from './value.js';
import type { SparseTensor } from './attribute.js';
import type { ValueType } from './types.js';

/** ONNX `TensorAnnotation`: which tensors hold a value's quantization parameters. */
export interface QuantizationAnnotation {
  tensorName: string;
  parameters: Map<string, string>;
}

/**
 * A computation graph: an ordered node list, inputs, outputs and initializers.
 *
 * The node list is a linked list that stays valid while you edit it: iterating with
 * `for (const n of graph)` tolerates removing the current node (or any other) and inserting
 * new ones; nodes inserted after the current one are visited.
 *
 * @example
 * ```ts
 * for (const node of graph) {
 *   if (node.opType === 'Identity') { node.outputs[0].replaceAllUsesWith(node.inputs[0]!); graph.remove(node); }
 * }
 * ```
 */
export class Graph {
  /** Optional proto fields present with default values in the source file (kept for lossless round trips). @internal */
  explicitDefaults?: Set<string>;
  name: string;
  docString = '';
  metadata = new Map<string, string>();
  readonly inputs: Value[] = [];
  readonly outputs: Value[] = [];
  /** Constant values by name (ONNX initializers), in file order. */
  readonly initializers = new Map<string, Value>();
  /** Sparse initializers, kept as written. */
  readonly sparseInitializers: { name: string; tensor: SparseTensor }[] = [];
  readonly quantizationAnnotations: QuantizationAnnotation[] = [];
  /** value_info entries whose names no value in this graph carries (kept for fidelity). */
  readonly extraValueInfo: Value[] = [];
  /** The node owning this graph as an attribute, for subgraphs. */
  parentNode: Node | undefined;
  /** Raw protobuf fields this version does not model. */
  unknownFields: Uint8Array[] | undefined;
  private _names: NameAuthority | undefined;
  private head: Node | undefined;
  private tail: Node | undefined;
  private count = 0;

  constructor(name = '') {
    this.name = name;
  }

  /** The outermost graph this one is nested in (itself for a main graph or function body). */
  get root(): Graph {
    return this.parentNode?.graph?.root ?? this;
  }

  /**
   * Unique value and node names across this graph tree (shared with every subgraph), indexed:
   * `graph.names.value('x')` costs O(1), not a scan of the graph.
   */
  get names(): NameAuthority {
    const root = this.root;
    return (root._names ??= new NameAuthority(root));
  }

  /** @internal Record a name that entered the tree, when the authority is already built. */
  _noteValueName(name: string): void {
    this.root._names?.reserveValue(name);
  }

  /** @internal */
  _noteNodeName(name: string): void {
    this.root._names?.reserveNode(name);
  }

  /** Number of nodes. */
  get size(): number {
    return this.count;
  }

  *[Symbol.iterator](): IterableIterator<Node> {
    let n = this.head;
    while (n) {
      if (!n._removed) yield n;
      // A removed node keeps its forward link, so iteration can move on from it.
      let next = n._next;
      while (next && next._removed) next = next._next;
      n = next;
    }
  }

  /** Nodes as an array (a snapshot). */
  get nodes(): Node[] {
    return [...this];
  }

  get first(): Node | undefined {
    return this.head;
  }
  get last(): Node | undefined {
    return this.tail;
  }

  /** Add a node at the end. */
  append(node: Node): Node {
    return this.insertAfter(this.tail, node);
  }

  /** Insert `node` right after `anchor` (undefined: at the start). */
  insertAfter(anchor: Node | undefined, node: Node): Node {
    this.adopt(node, anchor);
    const next = anchor ? anchor._next : this.head;
    node._prev = anchor;
    node._next = next;
    if (anchor) anchor._next = node;
    else this.head = node;
    if (next) next._prev = node;
    else this.tail = node;
    this.count++;
    return node;
  }

  /** Insert `node` right before `anchor`. */
  insertBefore(anchor: Node, node: Node): Node {
    if (anchor.graph !== this)
      throw new GraphError(`anchor node '${anchor.name || anchor.opType}' is not in graph '${this.name}'`);
    return this.insertAfter(anchor._prev, node);
  }

  /**
   * Take a node out of the graph. By default its inputs are detached too, and it is an
   * error if its outputs are still used (replace their uses first).
   */
  remove(node: Node, options: { safe?: boolean } = {}): void {
    if (node.graph !== this || node._removed)
      throw new GraphError(`node '${node.name || node.opType}' is not in graph '${this.name}'`, node.name);
    if (options.safe !== false) {
      for (const out of node.outputs) {
        const uses = out.uses().filter((u) => !u.node._removed && u.node !== node);
        if (uses.length)
          throw new GraphError(
            `cannot remove node '${node.name || node.opType}': its output '${out.name}' is still used by '${uses[0].node.name || uses[0].node.opType}'`,
            node.name,
          );
        if (this.outputs.includes(out))
          throw new GraphError(
            `cannot remove node '${node.name || node.opType}': its output '${out.name}' is a graph output`,
            node.name,
          );
      }
    }
    node.clearInputs();
    const { _prev: prev, _next: next } = node;
    if (prev) prev._next = next;
    else this.head = next;
    if (next) next._prev = prev;
    else this.tail = prev;
    node._removed = true;
    node.graph = undefined;
    this.count--;
  }

  private adopt(node: Node, anchor: Node | undefined): void {
    if (anchor && anchor.graph !== this)
      throw new GraphError(`anchor node '${anchor.name || anchor.opType}' is not in graph '${this.name}'`);
    if (node.graph && !node._removed)
      throw new GraphError(`node '${node.name || node.opType}' is already in graph '${node.graph.name}'`, node.name);
    node._removed = false;
    node.graph = this;
    for (const o of node.outputs) o.graph = this;
    for (const g of node.subgraphs()) g.parentNode = node;
    const names = this.root._names;
    if (names) {
      names.reserveNode(node.name);
      for (const o of node.outputs) names.reserveValue(o.name);
      for (const g of node.subgraphs()) names.recordGraph(g);
    }
  }

  /** Add a graph input. */
  addInput(name: string, type?: ValueType): Value {
    const v = new Value(name, type);
    v.graph = this;
    this.inputs.push(v);
    this._noteValueName(name);
    return v;
  }

  /** Add (or replace) an initializer. */
  addInitializer(name: string, tensor: Tensor): Value {
    const existing = this.initializers.get(name);
    if (existing) {
      existing.const = tensor;
      return existing;
    }
    const v = new Value(name, { kind: 'tensor', dtype: tensor.dtype, shape: [...tensor.dims] }, tensor);
    v.graph = this;
    this.initializers.set(name, v);
    this._noteValueName(name);
    return v;
  }

  /** Remove an initializer that nothing uses. */
  removeInitializer(name: string): void {
    const v = this.initializers.get(name);
    if (!v) return;
    if (v.uses().length || this.outputs.includes(v)) throw new GraphError(`initializer '${name}' is still used`);
    this.initializers.delete(name);
    const i = this.inputs.indexOf(v);
    if (i >= 0) this.inputs.splice(i, 1);
  }

  /** Add a node from parts and return it (the builder's workhorse). */
  op(
    opType: string,
    inputs: readonly (Value | undefined)[],
    attributes: ConstructorParameters<typeof Node>[0]['attributes'] = {},
    options: { outputs?: number | string[]; name?: string; domain?: string } = {},
  ): Node {
    const outputs = options.outputs ?? 1;
    let names: string[];
    if (typeof outputs === 'number')
      names = Array.from({ length: outputs }, () => this.names.value(`${options.name || opType}_out`));
    else names = outputs;
    const node = new Node({
      opType,
      inputs,
      attributes,
      name: options.name ?? '',
      domain: options.domain,
      outputs: names,
    });
    return this.append(node);
  }

  /** A value name not yet used in this graph tree, reserved (same as `names.value(base)`). */
  uniqueName(base: string): string {
    return this.names.value(base);
  }

  /** Every value name defined in this graph (inputs, initializers, node outputs). */
  valueNames(): Set<string> {
    const names = new Set<string>();
    for (const v of this.inputs) names.add(v.name);
    for (const k of this.initializers.keys()) names.add(k);
    for (const n of this) for (const o of n.outputs) names.add(o.name);
    return names;
  }

  /** Find a value defined in this graph by name. */
  findValue(name: string): Value | undefined {
    const init = this.initializers.get(name);
    if (init) return init;
    for (const v of this.inputs) if (v.name === name) return v;
    for (const n of this) for (const o of n.outputs) if (o.name === name) return o;
    return undefined;
  }

  /** Find a node by name. */
  findNode(name: string): Node | undefined {
    for (const n of this) if (n.name === name) return n;
    return undefined;
  }

  /**
   * Reorder nodes so every node comes after the producers of its inputs (including values
   * its subgraphs capture from this scope). Stable: keeps the current order where it can.
   * Throws GraphError naming a node on a cycle.
   */
  sortTopologically(): void {
    const order = this.topologicalOrder();
    this.head = this.tail = undefined;
    let prev: Node | undefined;
    for (const n of order) {
      n._prev = prev;
      n._next = undefined;
      if (prev) prev._next = n;
      else this.head = n;
      prev = n;
    }
    this.tail = prev;
  }

  /** The nodes in a dependency-respecting order (stable), without changing the graph. */
  topologicalOrder(): Node[] {
    const nodes = this.nodes;
    const index = new Map<Node, number>(nodes.map((n, i) => [n, i]));
    const deps = nodes.map((n) => {
      const set = new Set<number>();
      for (const v of capturedInputs(n)) {
        const p = v.producer();
        const pi = p ? index.get(p) : undefined;
        if (pi !== undefined && p !== n) set.add(pi);
      }
      return set;
    });
    const dependents: number[][] = nodes.map(() => []);
    const indegree = deps.map((d) => d.size);
    deps.forEach((d, i) => d.forEach((j) => dependents[j].push(i)));
    // A min-heap on original position keeps the order stable.
    const ready: number[] = [];
    const push = (i: number) => {
      ready.push(i);
      let c = ready.length - 1;
      while (c > 0) {
        const p = (c - 1) >> 1;
        if (ready[p] <= ready[c]) break;
        [ready[p], ready[c]] = [ready[c], ready[p]];
        c = p;
      }
    };
    const pop = () => {
      const top = ready[0];
      const last = ready.pop()!;
      if (ready.length) {
        ready[0] = last;
        let c = 0;
        for (;;) {
          const l = 2 * c + 1,
            r = l + 1;
          let m = c;
          if (l < ready.length && ready[l] < ready[m]) m = l;
          if (r < ready.length && ready[r] < ready[m]) m = r;
          if (m === c) break;
          [ready[m], ready[c]] = [ready[c], ready[m]];
          c = m;
        }
      }
      return top;
    };
    indegree.forEach((d, i) => d === 0 && push(i));
    const order: Node[] = [];
    while (ready.length) {
      const i = pop();
      order.push(nodes[i]);
      for (const j of dependents[i]) if (--indegree[j] === 0) push(j);
    }
    if (order.length !== nodes.length) {
      const stuck = nodes.find((_, i) => indegree[i] > 0)!;
      throw new GraphError(`graph '${this.name}' has a cycle through node '${stuck.name || stuck.opType}'`, stuck.name);
    }
    return order;
  }

  /**
   * Check invariants: no duplicate inputs, every node points back at this graph, every
   * node input is defined (a node output, an input or initializer of this graph or of an
   * enclosing one), and the graph is acyclic. Throws GraphError naming the first problem.
   */
  validate(): void {
    if (new Set(this.inputs.map((v) => v.name)).size !== this.inputs.length)
      throw new GraphError(`graph '${this.name}' has two inputs with the same name`);
    const seen = new Set<Node>();
    for (const n of this) {
      if (seen.has(n))
        throw new GraphError(`node '${n.name || n.opType}' appears twice in graph '${this.name}'`, n.name);
      seen.add(n);
      if (n.graph !== this)
        throw new GraphError(`node '${n.name || n.opType}' does not point back at graph '${this.name}'`, n.name);
      n.inputs.forEach((v, i) => {
        if (v && !this.defines(v))
          throw new GraphError(
            `node '${n.name || n.opType}' input ${i} reads '${v.name}', which no node, graph input or initializer in scope defines`,
            n.name,
          );
      });
    }
    for (const v of this.outputs)
      if (!this.defines(v)) throw new GraphError(`graph '${this.name}' output '${v.name}' is not defined in scope`);
    this.topologicalOrder();
  }

  /** True when `v` is produced by a live node, or is an input or initializer of this graph or an enclosing one. */
  private defines(v: Value): boolean {
    const p = v.producer();
    if (p) return !p._removed;
    const here =
      this.initializers.get(v.name) === v ||
      this.inputs.includes(v) ||
      this.sparseInitializers.some((s) => s.name === v.name && v.graph === this);
    return here || (this.parentNode?.graph?.defines(v) ?? false);
  }
}

/** Inputs of a node plus the outer-scope values its subgraphs read. */
export function capturedInputs(node: Node): Value[] {
  const out: Value[] = [];
  for (const v of node.inputs) if (v) out.push(v);
  for (const g of node.subgraphs()) {
    for (const inner of g) for (const v of capturedInputs(inner)) if (v.graph !== g) out.push(v);
    for (const v of g.outputs) if (v.graph !== g) out.push(v);
  }
  return out;
}
