/** Small graph-rewriting helpers shared by the quantizers. */
import { Node, type Graph, type Tensor, type Value } from '@edgeml/core';

/**
 * Adds nodes and constants to one graph with unique value and node names. Create one per
 * graph and move its insertion point with `at(anchor)`: new nodes go right before it.
 */
export class Rewriter {
  private readonly taken: Set<string>;
  private anchor: Node | undefined;

  constructor(readonly graph: Graph) {
    this.taken = graph.valueNames();
    for (const n of graph) if (n.name) this.taken.add(n.name);
  }

  /** New nodes will be inserted right before `anchor`. */
  at(anchor: Node): this {
    this.anchor = anchor;
    return this;
  }

  name(base: string): string {
    let n = base;
    for (let i = 1; this.taken.has(n); i++) n = `${base}_${i}`;
    this.taken.add(n);
    return n;
  }

  /** Insert `opType` before the anchor; returns its outputs. */
  op(
    opType: string,
    inputs: (Value | undefined)[],
    attributes: ConstructorParameters<typeof Node>[0]['attributes'],
    outputNames: string[],
    domain = '',
  ): Value[] {
    const anchor = this.anchor;
    if (!anchor) throw new Error('internal: Rewriter.at(anchor) was not called');
    const node = new Node({
      opType,
      domain,
      inputs,
      attributes,
      name: this.name(`${anchor.name || anchor.opType}_${opType}`),
      outputs: outputNames.map((b) => this.name(b)),
    });
    this.graph.insertBefore(anchor, node);
    return [...node.outputs];
  }

  constant(base: string, tensor: Tensor): Value {
    const name = this.name(base);
    tensor.name = name;
    return this.graph.addInitializer(name, tensor);
  }
}

/**
 * Make `producer` the producer of `original`'s output value (keeping its name, type and
 * uses) and delete `original`.
 */
export function takeOverOutput(graph: Graph, original: Node, index: number, producer: Node, producerIndex = 0): void {
  const out = original.outputs[index];
  graph.remove(original, { safe: false });
  producer.replaceOutput(producerIndex, out);
}
