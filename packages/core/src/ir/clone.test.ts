import { describe, expect, it } from 'vitest';
import { Tensor } from '../tensor/tensor.js';
import { encodeModel } from '../onnx/encode.js';
import { attr } from './attribute.js';
import { Graph } from './graph.js';
import { Model } from './model.js';
import { tensorType } from './types.js';

/** y = If(cond) then x + w else x, the branch reading x and w from the main graph. */
function ifModel(): Model {
  const g = new Graph('main');
  const x = g.addInput('x', tensorType('float32', [2]));
  const cond = g.addInput('cond', tensorType('bool', []));
  const w = g.addInitializer('w', Tensor.from('float32', [2], [1, 2]));
  const thenBranch = new Graph('then');
  thenBranch.outputs.push(thenBranch.op('Add', [x, w], {}, { outputs: ['sum'] }).outputs[0]);
  const elseBranch = new Graph('else');
  elseBranch.outputs.push(elseBranch.op('Identity', [x], {}, { outputs: ['same'] }).outputs[0]);
  const node = g.op(
    'If',
    [cond],
    [attr('then_branch', 'graph', thenBranch), attr('else_branch', 'graph', elseBranch)],
    {
      name: 'if',
      outputs: ['y'],
    },
  );
  g.outputs.push(node.outputs[0]);
  return new Model(g, { opsetImports: new Map([['', 17]]) });
}

describe('Model.clone', () => {
  it('encodes to the same bytes, shares tensor data, and edits of the copy leave the original alone', () => {
    const model = ifModel();
    const before = encodeModel(model);
    const copy = model.clone();
    expect(encodeModel(copy)).toEqual(before);
    expect(copy.graph.initializers.get('w')!.const!.data).toBe(model.graph.initializers.get('w')!.const!.data);

    copy.graph.nodes[0].name = 'renamed';
    copy.graph.initializers.get('w')!.const = Tensor.from('float32', [2], [5, 6]);
    copy.graph.inputs[0].type = tensorType('float32', [3]);
    copy.opsetImports.set('', 21);
    copy.graph.initializers.get('w')!.const!.name = 'other';
    expect(encodeModel(model)).toEqual(before);
  });

  it('points subgraphs at the copied outer values, not the original ones', () => {
    const model = ifModel();
    const copy = model.clone();
    copy.graph.validate();
    const branch = copy.graph.nodes[0].attr('then_branch', 'graph')!;
    const add = branch.nodes[0];
    expect(add.inputs[0]).toBe(copy.graph.inputs[0]);
    expect(add.inputs[1]).toBe(copy.graph.initializers.get('w'));
    expect(branch.parentNode).toBe(copy.graph.nodes[0]);
    expect(model.graph.inputs[0].uses().some((u) => u.node === add)).toBe(false);
  });
});
