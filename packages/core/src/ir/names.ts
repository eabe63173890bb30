import type { Graph } from './graph.js';

/**
 * Hands out value and node names that are unique across one graph tree (a main graph or a
 * function body, with every subgraph inside it), so a pass never scans the graph to pick a name.
 * ONNX keeps value names and node names apart; so does this.
 *
 * Built on first use from what the tree holds, then kept current by the graph: nodes it adopts,
 * inputs and initializers it adds and values renamed in it are recorded. Names are never handed
 * back, so a name once seen stays taken.
 *
 * @example
 * ```ts
 * const name = graph.names.value('conv_out');     // 'conv_out', or 'conv_out_1' if taken
 * const nodeName = graph.names.node('Conv_quant'); // reserved: no other call returns it
 * ```
 */
export class NameAuthority {
  private readonly values = new Set<string>();
  private readonly nodes = new Set<string>();
  /** Next suffix to try per base, so repeated bases stay O(1). */
  private readonly nextSuffix = new Map<string, number>();

  constructor(root: Graph) {
    this.recordGraph(root);
  }

  /** A value name not yet taken, `base` itself when free; it is reserved. */
  value(base: string): string {
    return this.take(this.values, base, 'v');
  }

  /** A node name not yet taken, `base` itself when free; it is reserved. */
  node(base: string): string {
    return this.take(this.nodes, base, 'n');
  }

  hasValue(name: string): boolean {
    return this.values.has(name);
  }

  hasNode(name: string): boolean {
    return this.nodes.has(name);
  }

  /** Mark a value name as taken. */
  reserveValue(name: string): void {
    if (name) this.values.add(name);
  }

  /** Mark a node name as taken. */
  reserveNode(name: string): void {
    if (name) this.nodes.add(name);
  }

  /** Record every name in `graph` and its subgraphs (a subtree joining this one). */
  recordGraph(graph: Graph): void {
    for (const v of graph.inputs) this.reserveValue(v.name);
    for (const name of graph.initializers.keys()) this.reserveValue(name);
    for (const s of graph.sparseInitializers) this.reserveValue(s.name);
    for (const v of graph.outputs) this.reserveValue(v.name);
    for (const n of graph) {
      this.reserveNode(n.name);
      for (const o of n.outputs) this.reserveValue(o.name);
      for (const sub of n.subgraphs()) this.recordGraph(sub);
    }
  }

  private take(taken: Set<string>, base: string, kind: 'v' | 'n'): string {
    const stem = base || (kind === 'v' ? 'value' : 'node');
    if (!taken.has(stem)) {
      taken.add(stem);
      return stem;
    }
    const key = `${kind}:${stem}`;
    let i = this.nextSuffix.get(key) ?? 1;
    while (taken.has(`${stem}_${i}`)) i++;
    const name = `${stem}_${i}`;
    this.nextSuffix.set(key, i + 1);
    taken.add(name);
    return name;
  }
}
