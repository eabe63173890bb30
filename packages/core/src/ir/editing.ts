/**
 * The graph-editing verbs every pass uses. Only core edits graph structure: these keep use
 * lists exact, graph outputs named as they were, node order valid, and take new names from the
 * graph's name authority. A pass builds new nodes (with `new Node` or `Graph.op`) and hands
 * them to a verb; it never removes a node whose outputs are still read.
 */
import { GraphError } from '../errors.js';
import type { Graph } from './graph.js';
import type { Model } from './model.js';
import type { Tensor } from '../tensor/tensor.js';
import { Node, type NodeInit } from './node.js';
import type { ValueType } from './types.js';
import type { Use, Value } from './value.js';

const label = (n: Node) => n.name || n.opType;

function graphOf(node: Node, verb: string): Graph {
  const g = node.graph;
  if (!g || node._removed) throw new GraphError(`${verb}: node '${label(node)}' is not in a graph`, node.name);
  return g;
}

/**
 * `next` takes over the identity of `old`: its name, its uses and its graph-output slots; `old`'s
 * type is kept when it has one (the value means the same thing, only its producer changes).
 * `old`'s producer must already be out of the graph.
 */
function takeOver(graph: Graph, old: Value, next: Value): void {
  if (next === old) return;
  const producer = next.producer();
  if (!producer || producer.graph !== graph) {
    // A graph input, initializer or outer value: readers read it directly; a graph output keeps
    // its name through an Identity.
    const outputs = graph.outputs;
    const isOutput = outputs.includes(old);
    for (const { node, index } of old.uses()) node.setInput(index, next);
    if (isOutput) {
      const identity = new Node({
        opType: 'Identity',
        name: graph.names.node(`${old.name}_identity`),
        inputs: [next],
        outputs: 1,
      });
      graph.append(identity);
      identity.replaceOutput(0, old);
    }
    return;
  }
  const index = next.producerIndex()!;
  next.replaceAllUsesWith(old);
  old.type ??= next.type;
  producer.replaceOutput(index, old);
}

/** Where each node sits in graph order. */
function positions(graph: Graph): Map<Node, number> {
  const at = new Map<Node, number>();
  let i = 0;
  for (const n of graph) at.set(n, i++);
  return at;
}

/** Re-sort only when some inserted node now reads a value produced after it, or feeds an earlier node. */
function repairOrder(graph: Graph, inserted: readonly Node[]): void {
  const at = positions(graph);
  for (const n of inserted) {
    const here = at.get(n)!;
    for (const v of n.inputs) {
      const p = v?.producer();
      if (p && p.graph === graph && at.get(p)! > here) return graph.sortTopologically();
    }
    for (const o of n.outputs)
      for (const u of o.uses()) if (u.node.graph === graph && at.get(u.node)! < here) return graph.sortTopologically();
  }
}

/**
 * Replace a connected set of nodes by others. Every output of `nodes` that is read outside the
 * set (or is a graph output) must appear in `outputs`, mapped to the value of the replacement
 * that stands for it; that value then carries the old name, uses and graph-output slot. The new
 * nodes go where the first of `nodes` was; order is repaired if the set was interleaved.
 *
 * @example
 * ```ts
 * // MatMul + Add → Gemm, the Add's output name kept
 * const gemm = new Node({ opType: 'Gemm', inputs: [a, b, c], outputs: [graph.names.value('gemm')] });
 * replaceSubgraph([matmul, add], [gemm], new Map([[add.outputs[0], gemm.outputs[0]]]));
 * ```
 */
export function replaceSubgraph(
  nodes: readonly Node[],
  replacement: readonly Node[],
  outputs: ReadonlyMap<Value, Value>,
): void {
  if (nodes.length === 0) throw new GraphError('replaceSubgraph: no nodes to replace');
  const graph = graphOf(nodes[0], 'replaceSubgraph');
  const set = new Set(nodes);
  for (const n of nodes) {
    if (n.graph !== graph || n._removed)
      throw new GraphError(`replaceSubgraph: node '${label(n)}' is not in graph '${graph.name}'`, n.name);
    for (const o of n.outputs) {
      const readOutside = o.uses().some((u) => !set.has(u.node)) || graph.outputs.includes(o);
      if (readOutside && !outputs.has(o))
        throw new GraphError(
          `replaceSubgraph: '${o.name}' (from '${label(n)}') is still read outside the replaced nodes; map it to a replacement value`,
          n.name,
        );
    }
  }
  for (const [old, next] of outputs) {
    const p = next.producer();
    if (p && set.has(p))
      throw new GraphError(
        `replaceSubgraph: '${old.name}' is mapped to '${next.name}', which a replaced node computes`,
        p.name,
      );
  }
  const first = graph.nodes.find((n) => set.has(n))!;
  for (const n of replacement) if (!n.graph) graph.insertBefore(first, n);
  for (const n of nodes) graph.remove(n, { safe: false });
  for (const [old, next] of outputs) takeOver(graph, old, next);
  if (nodes.length > 1 || replacement.some((n) => n.inputs.some((v) => v && outputs.has(v))))
    repairOrder(graph, replacement);
}

/**
 * Replace one node by one or more new nodes. `outputs[i]` (default: the outputs of the single
 * replacement, or of the last one) stands for the old node's output i and takes over its name,
 * uses and graph-output slot. The new nodes are inserted where the old one was, in the order given.
 *
 * @example
 * ```ts
 * const gelu = new Node({ opType: 'Gelu', inputs: [x], outputs: [graph.names.value('gelu')] });
 * replaceNode(erfPatternRoot, gelu);
 * ```
 */
export function replaceNode(node: Node, replacement: Node | readonly Node[], outputs?: readonly Value[]): void {
  const list = replacement instanceof Node ? [replacement] : replacement;
  if (list.length === 0) throw new GraphError(`replaceNode: no replacement for node '${label(node)}'`, node.name);
  const outs = outputs ?? list[list.length - 1].outputs;
  const map = new Map<Value, Value>();
  node.outputs.forEach((o, i) => {
    if (outs[i]) map.set(o, outs[i]);
  });
  replaceSubgraph([node], list, map);
}

/** What {@link insertOnEdge} rewires. */
export interface InsertOnEdgeOptions {
  /** The value readers get instead of the edge's (default: the last node's first output). */
  output?: Value;
  /** Only these uses move to the new value (default: every use but the inserted nodes' own). */
  uses?: readonly Use[];
  /** Whether a graph output slot holding the value moves too (default true, keeping its name). */
  graphOutputs?: boolean;
}

/**
 * Put `nodes` (a chain that reads `value`) on the edge from `value` to its readers: the readers,
 * and a graph output holding it, read the chain's output instead. A graph output keeps its name:
 * the chain's output takes it and `value` gets a fresh one. The chain goes right after `value`'s
 * producer (at the top of the graph for inputs and initializers).
 *
 * @example
 * ```ts
 * // QuantizeLinear → DequantizeLinear on an activation
 * const q = new Node({ opType: 'QuantizeLinear', inputs: [x, scale, zp], outputs: [graph.names.value(`${x.name}_q`)] });
 * const dq = new Node({ opType: 'DequantizeLinear', inputs: [q.outputs[0], scale, zp], outputs: [graph.names.value(`${x.name}_dq`)] });
 * insertOnEdge(x, [q, dq]);
 * ```
 */
export function insertOnEdge(value: Value, nodes: Node | readonly Node[], options: InsertOnEdgeOptions = {}): Value {
  const chain = nodes instanceof Node ? [nodes] : nodes;
  if (chain.length === 0) throw new GraphError(`insertOnEdge: no nodes to insert on '${value.name}'`);
  const graph = value.graph;
  if (!graph) throw new GraphError(`insertOnEdge: value '${value.name}' is not in a graph`);
  const output = options.output ?? chain[chain.length - 1].outputs[0];
  if (!output) throw new GraphError(`insertOnEdge: the inserted nodes produce nothing to read`);
  const own = new Set(chain);
  const moving = (options.uses ?? value.uses()).filter((u) => !own.has(u.node));
  const producer = value.producer();
  let anchor: Node | undefined = producer && producer.graph === graph ? producer : undefined;
  for (const n of chain) {
    graph.insertAfter(anchor, n);
    anchor = n;
  }
  for (const { node, index } of moving) node.setInput(index, output);
  const slots =
    options.graphOutputs === false || value.isGraphInput
      ? []
      : graph.outputs.flatMap((v, i) => (v === value ? [i] : []));
  if (slots.length) {
    const name = value.name;
    value.name = graph.names.value(`${name}_before_${chain[0].opType}`);
    output.name = name;
    output.type ??= value.type;
    for (const i of slots) graph.outputs[i] = output;
  }
  return output;
}

/** Which input flows through to which output in {@link eliminateNode}. */
export interface EliminateNodeOptions {
  input?: number;
  output?: number;
}

/**
 * Remove a node that passes `inputs[input]` through to `outputs[output]` (Identity, an inference
 * Dropout, a no-op Reshape): readers of the output read the input. When the output is a graph
 * output, the input takes over its name if it is a plain intermediate value; otherwise the node
 * stays and `false` is returned. The node's other outputs must be unread.
 *
 * @example
 * ```ts
 * for (const n of graph) if (n.opType === 'Identity') eliminateNode(n);
 * ```
 */
export function eliminateNode(node: Node, options: EliminateNodeOptions = {}): boolean {
  const graph = graphOf(node, 'eliminateNode');
  const input = node.inputs[options.input ?? 0];
  const output = node.outputs[options.output ?? 0];
  if (!input || !output)
    throw new GraphError(`eliminateNode: node '${label(node)}' has no such input or output to connect`, node.name);
  for (const o of node.outputs)
    if (o !== output && (o.uses().length || graph.outputs.includes(o)))
      throw new GraphError(`eliminateNode: output '${o.name}' of node '${label(node)}' is still read`, node.name);
  if (graph.outputs.includes(output)) {
    const producer = input.producer();
    if (!producer || producer.graph !== graph || graph.outputs.includes(input)) return false;
    output.replaceAllUsesWith(input);
    graph.remove(node, { safe: false });
    input.name = output.name;
    input.type = output.type ?? input.type;
    return true;
  }
  output.replaceAllUsesWith(input);
  graph.remove(node);
  return true;
}

/** How {@link exposeOutputs} types a value whose type the model does not record. */
export interface ExposeOutputsOptions {
  /** Type for values without one (default: float32 of unknown shape, what activations are). */
  defaultType?: ValueType;
}

/**
 * A copy of `model` whose main graph also outputs the named values (those it computes; names it
 * lacks, constants and existing outputs are left out), for reading activations — calibration,
 * per-tensor error — without touching the model itself. Returns the copy and the names added.
 *
 * @example
 * ```ts
 * const { model: probe, exposed } = exposeOutputs(model, ['conv1_out', 'relu1_out']);
 * const session = await backend.createSession(probe); // its outputs include conv1_out, relu1_out
 * ```
 */
export function exposeOutputs(
  model: Model,
  names: readonly string[],
  options: ExposeOutputsOptions = {},
): { model: Model; exposed: string[] } {
  const copy = model.clone();
  const graph = copy.graph;
  const byName = new Map<string, Value>();
  for (const v of graph.inputs) byName.set(v.name, v);
  for (const n of graph) for (const o of n.outputs) byName.set(o.name, o);
  const present = new Set(graph.outputs.map((v) => v.name));
  const exposed: string[] = [];
  for (const name of names) {
    const v = byName.get(name);
    if (!v || v.const || present.has(name)) continue;
    v.type ??= structuredClone(options.defaultType ?? { kind: 'tensor', dtype: 'float32' });
    graph.outputs.push(v);
    present.add(name);
    exposed.push(name);
  }
  return { model: copy, exposed };
}

/**
 * Builds the nodes and constants of one rewrite, named by the graph's name authority. Nodes stay
 * out of the graph until a verb places them (`replaceNode(old, b.nodes)`, `insertOnEdge(v,
 * b.nodes)`) or {@link GraphBuilder.insertBefore} does; constants are initializers at once.
 *
 * @example
 * ```ts
 * const b = new GraphBuilder(graph, node.name);
 * const [acc] = b.op('MatMulInteger', [xq, wq, xzp, wzp], {}, ['acc']);
 * const [y] = b.op('Cast', [acc], { to: 1 }, ['acc_float']);
 * replaceNode(node, b.nodes, [y]);
 * ```
 */
export class GraphBuilder {
  private batch: Node[] = [];

  /** `prefix` starts every node name (e.g. the name of the node being rewritten). */
  constructor(
    readonly graph: Graph,
    private readonly prefix = '',
  ) {}

  /** The nodes built since the last placement, in build order. */
  get nodes(): readonly Node[] {
    return this.batch;
  }

  /** A new node (not yet in the graph); returns its outputs, named from `outputs` (bases) or `<op>_out`. */
  op(
    opType: string,
    inputs: readonly (Value | undefined)[],
    attributes: NodeInit['attributes'] = {},
    outputs: readonly string[] | number = 1,
    domain = '',
  ): Value[] {
    const names = this.graph.names;
    const bases = typeof outputs === 'number' ? Array.from({ length: outputs }, () => `${opType}_out`) : outputs;
    const node = new Node({
      opType,
      domain,
      inputs,
      attributes,
      name: names.node(this.prefix ? `${this.prefix}_${opType}` : opType),
      outputs: bases.map((b) => names.value(b)),
    });
    this.batch.push(node);
    return [...node.outputs];
  }

  /** A new initializer holding `tensor` under a fresh name from `base` (the tensor takes the name). */
  constant(base: string, tensor: Tensor): Value {
    const name = this.graph.names.value(base);
    tensor.name = name;
    return this.graph.addInitializer(name, tensor);
  }

  /** Put the nodes built so far right before `anchor`, in build order; later ones start a new batch. */
  insertBefore(anchor: Node): readonly Node[] {
    const placed = this.batch;
    for (const n of placed) this.graph.insertBefore(anchor, n);
    this.batch = [];
    return placed;
  }
}
