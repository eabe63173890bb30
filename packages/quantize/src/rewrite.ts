/** Small graph-rewriting helpers shared by the quantizers. */
import { Node, Tensor, Value, type Graph } from '@edgeml/core';

/** Adds nodes before an anchor and names their outputs uniquely in the graph. */
export class Rewriter {
  private readonly taken: Set<string>;
  constructor(readonly graph: Graph, private readonly anchor: Node) {
    this.taken = graph.valueNames();
    // Names used anywhere in the model's subgraphs are also off limits, so this is conservative per graph.
  }

  name(base: string): string {
    let n = base;
    for (let i = 1; this.taken.has(n); i++) n = `${base}_${i}`;
    this.taken.add(n);
    return n;
  }

  /** Insert `opType` before the anchor; returns its outputs. */
  op(opType: string, inputs: (Value | undefined)[], attributes: ConstructorParameters<typeof Node>[0]['attributes'], outputNames: string[], domain = ''): Value[] {
    const node = new Node({ opType, domain, inputs, attributes, name: this.name(`${this.anchor.name || this.anchor.opType}_${opType}`), outputs: outputNames.map((b) => this.name(b)) });
    this.graph.insertBefore(this.anchor, node);
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

/** The node that produces a value created by Rewriter.op. */
export function producerOf(v: Value): Node {
  return v.producer()!;
}
