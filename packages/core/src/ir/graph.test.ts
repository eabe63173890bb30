import { describe, expect, it } from 'vitest';
import { Graph } from './graph.js';
import { Model } from './model.js';
import { Node } from './node.js';
import { tensorType } from './types.js';
import { attr } from './attribute.js';
import { Tensor } from '../tensor/tensor.js';
import { decodeModel } from '../onnx/decode.js';
import { encodeModel } from '../onnx/encode.js';
import { GraphError } from '../errors.js';

function chain(n: number) {
  const g = new Graph('chain');
  let v = g.addInput('x', tensorType('float32', [1]));
  const nodes: Node[] = [];
  for (let i = 0; i < n; i++) {
    const node = g.op(i % 2 ? 'Identity' : 'Relu', [v], {}, { name: `n${i}` });
    nodes.push(node);
    v = node.outputs[0];
  }
  g.outputs.push(v);
  return { g, nodes };
}

describe('Graph node list', () => {
  it('stays valid while nodes are removed and inserted during iteration', () => {
    const { g } = chain(6);
    const seen: string[] = [];
    for (const n of g) {
      seen.push(n.name);
      if (n.opType === 'Identity') {
        n.outputs[0].replaceAllUsesWith(n.inputs[0]!);
        g.remove(n);
      }
      if (n.name === 'n2')
        g.insertAfter(n, new Node({ opType: 'Neg', name: 'inserted', inputs: [n.outputs[0]], outputs: ['neg'] }));
    }
    expect(seen).toEqual(['n0', 'n1', 'n2', 'inserted', 'n3', 'n4', 'n5']);
    expect(g.nodes.map((n) => n.name)).toEqual(['n0', 'n2', 'inserted', 'n4']);
    expect(g.outputs[0].producer()!.name).toBe('n4');
  });

  it('tolerates removing the next node while iterating', () => {
    const { g, nodes } = chain(4);
    const seen: string[] = [];
    for (const n of g) {
      seen.push(n.name);
      if (n.name === 'n0') g.remove(nodes[1], { safe: false });
    }
    expect(seen).toEqual(['n0', 'n2', 'n3']);
  });

  it('tracks uses exactly through edits', () => {
    const g = new Graph();
    const x = g.addInput('x');
    const add = g.op('Add', [x, x]);
    expect(x.uses().map((u) => u.index)).toEqual([0, 1]);
    add.setInput(1, undefined);
    expect(x.uses()).toEqual([{ node: add, index: 0 }]);
    g.remove(add, { safe: false });
    expect(x.uses()).toEqual([]);
  });

  it('refuses to remove a node whose output is still read, or to produce a value twice', () => {
    const { g, nodes } = chain(2);
    expect(() => g.remove(nodes[0])).toThrow(GraphError);
    expect(() => new Node({ opType: 'Relu', outputs: [nodes[0].outputs[0]] })).toThrow(/at most one producer/);
  });

  it('sorts topologically, stably', () => {
    const g = new Graph();
    const x = g.addInput('x');
    const a = new Node({ opType: 'Relu', name: 'a', inputs: [x], outputs: ['a'] });
    const b = new Node({ opType: 'Relu', name: 'b', inputs: [a.outputs[0]], outputs: ['b'] });
    const c = new Node({ opType: 'Relu', name: 'c', inputs: [x], outputs: ['c'] });
    g.append(b);
    g.append(c);
    g.append(a);
    g.sortTopologically();
    expect(g.nodes.map((n) => n.name)).toEqual(['c', 'a', 'b']);
  });

  it('resolves subgraph reads of outer values to the outer Value objects', () => {
    const g = new Graph('main');
    const cond = g.addInput('cond', tensorType('bool', []));
    const x = g.addInput('x', tensorType('float32', [2]));
    const then = new Graph('then');
    const t = then.op('Neg', [x], {}, { name: 'neg' }).outputs[0];
    then.outputs.push(t);
    t.type = tensorType('float32', [2]);
    const other = new Graph('else');
    const e = other.op('Abs', [x], {}, { name: 'abs' }).outputs[0];
    other.outputs.push(e);
    e.type = tensorType('float32', [2]);
    const iff = g.op('If', [cond], [attr('then_branch', 'graph', then), attr('else_branch', 'graph', other)], {
      name: 'if',
    });
    iff.outputs[0].type = tensorType('float32', [2]);
    g.outputs.push(iff.outputs[0]);
    const decoded = decodeModel(encodeModel(new Model(g)));
    const dx = decoded.graph.inputs[1];
    expect(
      dx
        .uses()
        .map((u) => u.node.name)
        .sort(),
    ).toEqual(['abs', 'neg']);
    expect(decoded.graph.nodes[0].subgraphs().map((s) => s.name)).toEqual(['then', 'else']);
  });

  it('builds a model in code that round-trips', () => {
    const g = new Graph('tiny');
    const x = g.addInput('x', tensorType('float32', ['n', 2]));
    const w = g.addInitializer('w', Tensor.from('float32', [2, 2], [1, 0, 0, 1]));
    const y = g.op('MatMul', [x, w], {}, { name: 'mm' }).outputs[0];
    y.type = tensorType('float32', ['n', 2]);
    g.outputs.push(y);
    const m = new Model(g, { opsetImports: new Map([['', 17]]) });
    m.metadata.set('author', 'edgeml');
    const back = decodeModel(encodeModel(m));
    expect(back.graph.inputs[0].shape).toEqual(['n', 2]);
    expect(back.metadata.get('author')).toBe('edgeml');
    expect(Array.from(back.graph.initializers.get('w')!.const!.data as Float32Array)).toEqual([1, 0, 0, 1]);
    expect(encodeModel(back)).toEqual(encodeModel(m));
  });
});
