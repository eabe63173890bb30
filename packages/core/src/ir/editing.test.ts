import { describe, expect, it } from 'vitest';
import { GraphError } from '../errors.js';
import { Tensor } from '../tensor/tensor.js';
import { attr } from './attribute.js';
import { GraphBuilder, eliminateNode, exposeOutputs, insertOnEdge, replaceNode, replaceSubgraph } from './editing.js';
import { Graph } from './graph.js';
import { Model } from './model.js';
import { Node } from './node.js';
import { tensorType } from './types.js';

/** x → Relu → Neg → y (graph output), with names r and y. */
function reluNeg() {
  const g = new Graph('main');
  const x = g.addInput('x', tensorType('float32', [2]));
  const relu = g.op('Relu', [x], {}, { name: 'relu', outputs: ['r'] });
  const neg = g.op('Neg', [relu.outputs[0]], {}, { name: 'neg', outputs: ['y'] });
  g.outputs.push(neg.outputs[0]);
  return { g, x, relu, neg };
}

const order = (g: Graph) => g.nodes.map((n) => n.opType);

describe('replaceNode', () => {
  it('hands the old outputs, names and uses to the replacement', () => {
    const { g, relu, neg } = reluNeg();
    const sig = new Node({ opType: 'Sigmoid', name: g.names.node('sig'), inputs: [relu.inputs[0]], outputs: ['tmp'] });
    const r = relu.outputs[0];
    replaceNode(relu, sig);
    expect(order(g)).toEqual(['Sigmoid', 'Neg']);
    expect(sig.outputs[0]).toBe(r);
    expect(r.name).toBe('r');
    expect(neg.inputs[0]).toBe(r);
    expect(relu.graph).toBeUndefined();
    g.validate();
  });

  it('keeps a graph output named as it was', () => {
    const { g, neg } = reluNeg();
    const abs = new Node({ opType: 'Abs', inputs: [neg.inputs[0]], outputs: [g.names.value('abs')] });
    replaceNode(neg, abs);
    expect(g.outputs[0].name).toBe('y');
    expect(g.outputs[0].producer()).toBe(abs);
    g.validate();
  });

  it('takes a chain, the last node standing for the old output', () => {
    const { g, relu } = reluNeg();
    const a = new Node({ opType: 'Abs', inputs: [relu.inputs[0]], outputs: ['a'] });
    const s = new Node({ opType: 'Sqrt', inputs: [a.outputs[0]], outputs: ['s'] });
    replaceNode(relu, [a, s]);
    expect(order(g)).toEqual(['Abs', 'Sqrt', 'Neg']);
    expect(s.outputs[0].name).toBe('r');
    g.validate();
  });

  it('replaces a graph output by a constant through an Identity that keeps its name', () => {
    const { g, neg } = reluNeg();
    const c = g.addInitializer('c', Tensor.from('float32', [2], [1, 2]));
    replaceSubgraph([neg], [], new Map([[neg.outputs[0], c]]));
    expect(g.outputs[0].name).toBe('y');
    expect(g.outputs[0].producer()!.opType).toBe('Identity');
    expect(g.outputs[0].producer()!.inputs[0]).toBe(c);
    g.validate();
  });
});

describe('replaceSubgraph', () => {
  it('refuses to drop a value still read outside, or to map to a value it removes', () => {
    const { g, relu, neg } = reluNeg();
    const abs = new Node({ opType: 'Abs', inputs: [relu.inputs[0]], outputs: ['a'] });
    expect(() => replaceSubgraph([relu], [abs], new Map())).toThrow(/'r' \(from 'relu'\) is still read outside/);
    expect(() => replaceSubgraph([relu, neg], [], new Map([[neg.outputs[0], relu.outputs[0]]]))).toThrow(
      /which a replaced node computes/,
    );
    expect(order(g)).toEqual(['Relu', 'Neg']);
  });

  it('repairs the order when the replaced nodes were interleaved with others', () => {
    // x → A → a ; x → B → b ; a → C → c ; (a, b) → D ; replace {A, C} by one node reading b.
    const g = new Graph('g');
    const x = g.addInput('x', tensorType('float32', [1]));
    const A = g.op('Relu', [x], {}, { name: 'A', outputs: ['a'] });
    const B = g.op('Neg', [x], {}, { name: 'B', outputs: ['b'] });
    const C = g.op('Abs', [A.outputs[0]], {}, { name: 'C', outputs: ['c'] });
    const D = g.op('Add', [C.outputs[0], B.outputs[0]], {}, { name: 'D', outputs: ['d'] });
    g.outputs.push(D.outputs[0]);
    const fused = new Node({ opType: 'Sub', name: 'fused', inputs: [x, B.outputs[0]], outputs: ['f'] });
    replaceSubgraph([A, C], [fused], new Map([[C.outputs[0], fused.outputs[0]]]));
    expect(g.nodes.map((n) => n.name)).toEqual(['B', 'fused', 'D']);
    expect(D.inputs[0]!.name).toBe('c');
    g.validate();
  });
});

describe('insertOnEdge', () => {
  it('puts a chain between a value and all its readers', () => {
    const { g, relu, neg } = reluNeg();
    const r = relu.outputs[0];
    const q = new Node({ opType: 'Abs', inputs: [r], outputs: [g.names.value('r_abs')] });
    const out = insertOnEdge(r, q);
    expect(order(g)).toEqual(['Relu', 'Abs', 'Neg']);
    expect(neg.inputs[0]).toBe(out);
    expect(q.inputs[0]).toBe(r);
    g.validate();
  });

  it('on a graph output: the chain output takes the name, the old value a new one', () => {
    const { g, neg } = reluNeg();
    const y = neg.outputs[0];
    const ident = new Node({ opType: 'Abs', inputs: [y], outputs: ['tmp'] });
    insertOnEdge(y, ident);
    expect(g.outputs[0]).toBe(ident.outputs[0]);
    expect(g.outputs[0].name).toBe('y');
    expect(y.name).toBe('y_before_Abs');
    g.validate();
  });

  it('moves only the uses asked for, and starts at the top for a graph input', () => {
    const g = new Graph('g');
    const x = g.addInput('x', tensorType('float32', [1]));
    const a = g.op('Relu', [x], {}, { name: 'a' });
    const b = g.op('Neg', [x], {}, { name: 'b' });
    g.outputs.push(a.outputs[0], b.outputs[0]);
    const cast = new Node({ opType: 'Abs', name: 'abs', inputs: [x], outputs: ['x_abs'] });
    insertOnEdge(x, cast, { uses: x.uses().filter((u) => u.node === b) });
    expect(g.nodes.map((n) => n.name)).toEqual(['abs', 'a', 'b']);
    expect(a.inputs[0]).toBe(x);
    expect(b.inputs[0]!.name).toBe('x_abs');
    g.validate();
  });
});

describe('eliminateNode', () => {
  it('connects readers to the input', () => {
    const { g, relu, neg } = reluNeg();
    expect(eliminateNode(relu)).toBe(true);
    expect(neg.inputs[0]!.name).toBe('x');
    g.validate();
  });

  it('lets an intermediate input take over a graph output name, and declines for a graph input', () => {
    const { g, relu, neg } = reluNeg();
    expect(eliminateNode(neg)).toBe(true);
    expect(g.outputs[0]).toBe(relu.outputs[0]);
    expect(g.outputs[0].name).toBe('y');
    expect(eliminateNode(relu)).toBe(false);
    expect(order(g)).toEqual(['Relu']);
    g.validate();
  });

  it('refuses while another output is read', () => {
    const g = new Graph('g');
    const x = g.addInput('x', tensorType('float32', [1]));
    const drop = g.op('Dropout', [x], {}, { name: 'drop', outputs: ['y', 'mask'] });
    g.op('Not', [drop.outputs[1]], {}, { outputs: ['m2'] });
    expect(() => eliminateNode(drop)).toThrow(GraphError);
  });
});

describe('name authority', () => {
  it('gives names unique across subgraphs, and tracks renames and adopted nodes', () => {
    const g = new Graph('main');
    const cond = g.addInput('cond', tensorType('bool', []));
    const body = new Graph('then');
    const inner = body.op('Constant', [], { value: Tensor.from('float32', [], [1]) }, { outputs: ['t'] });
    body.outputs.push(inner.outputs[0]);
    const ifNode = g.op('If', [cond], [attr('then_branch', 'graph', body), attr('else_branch', 'graph', body)], {
      name: 'if',
      outputs: ['out'],
    });
    g.outputs.push(ifNode.outputs[0]);
    expect(g.names.value('t')).toBe('t_1');
    expect(body.names).toBe(g.names);
    expect(g.names.value('out')).toBe('out_1');
    expect(g.names.node('if')).toBe('if_1');
    expect(g.names.value('if')).toBe('if'); // values and nodes are separate namespaces
    cond.name = 'renamed';
    expect(g.names.value('renamed')).toBe('renamed_1');
    g.append(new Node({ opType: 'Neg', name: 'late', inputs: [ifNode.outputs[0]], outputs: ['late_out'] }));
    expect(g.names.value('late_out')).toBe('late_out_1');
    expect(g.names.node('late')).toBe('late_1');
  });

  it('Graph.op names every output apart', () => {
    const g = new Graph('g');
    const x = g.addInput('x', tensorType('float32', [4]));
    const split = g.op('Split', [x], { axis: 0 }, { outputs: 3 });
    expect(new Set(split.outputs.map((o) => o.name)).size).toBe(3);
    expect(g.op('Relu', [x]).outputs[0].name).not.toBe(g.op('Relu', [x]).outputs[0].name);
  });
});

describe('exposeOutputs', () => {
  it('returns a copy with the activations as outputs and leaves the model alone', () => {
    const { g } = reluNeg();
    const model = new Model(g);
    const { model: probe, exposed } = exposeOutputs(model, ['r', 'x', 'y', 'missing']);
    expect(exposed).toEqual(['r', 'x']);
    expect(probe.graph.outputs.map((v) => v.name)).toEqual(['y', 'r', 'x']);
    expect(model.graph.outputs.map((v) => v.name)).toEqual(['y']);
    expect(probe.graph.outputs[1].type).toEqual({ kind: 'tensor', dtype: 'float32' });
    expect(model.graph.findValue('r')!.type).toBeUndefined();
  });
});

describe('verbs inside subgraphs', () => {
  it('replace a node in an If branch: the branch output keeps its name, outer captures stay, names stay unique', () => {
    const g = new Graph('main');
    const x = g.addInput('x', tensorType('float32', [2]));
    const cond = g.addInput('cond', tensorType('bool', []));
    const branch = new Graph('then');
    const relu = branch.op('Relu', [x], {}, { name: 'relu', outputs: ['branch_out'] });
    branch.outputs.push(relu.outputs[0]);
    const other = new Graph('else');
    other.outputs.push(other.op('Neg', [x], {}, { outputs: ['neg_out'] }).outputs[0]);
    const ifNode = g.op('If', [cond], [attr('then_branch', 'graph', branch), attr('else_branch', 'graph', other)], {
      outputs: ['y'],
    });
    g.outputs.push(ifNode.outputs[0]);
    const b = new GraphBuilder(branch, 'relu');
    const [abs] = b.op('Abs', [x], {}, ['y']); // 'y' is taken in the main graph: the authority renames it
    expect(abs.name).toBe('y_1');
    replaceNode(relu, b.nodes, [abs]);
    expect(branch.outputs[0].name).toBe('branch_out');
    expect(branch.nodes[0].opType).toBe('Abs');
    expect(branch.nodes[0].inputs[0]).toBe(x);
    expect(
      x
        .uses()
        .map((u) => u.node.opType)
        .sort(),
    ).toEqual(['Abs', 'Neg']);
    g.validate();
    branch.validate();
  });
});
