import { describe, expect, it } from 'vitest';
import { attr } from '../ir/attribute.js';
import { Tensor } from '../tensor/tensor.js';
import { Graph } from '../ir/graph.js';
import { tensorType } from '../ir/types.js';
import { inferShapes } from '../shape/infer.js';
import { finish, graphWithInput, op, opTypes } from '../testing/fusion-check.js';
import { foldConstants } from './constant-folding.js';

/** A branch computing `opType(x)`. */
function branch(name: string, opType: string, x: ReturnType<typeof graphWithInput>['x']): Graph {
  const g = new Graph(name);
  g.outputs.push(g.op(opType, [x], {}, { outputs: [`${name}_out`] }).outputs[0]);
  return g;
}

describe('control flow under constant folding and shape inference', () => {
  it('folds Not of a static-shape test, so the If it feeds is replaced by the branch it takes', () => {
    const { graph: g, x } = graphWithInput([2, 3]);
    // Silero VAD's idiom: If(Not(Equal(rank, 3))) on a tensor whose shape is static.
    const rank = op(g, 'Size', [op(g, 'Shape', [x])]);
    const three = g.addInitializer('three', Tensor.from('int64', [], [3]));
    const cond = op(g, 'Not', [op(g, 'Equal', [rank, three])]);
    const node = g.op(
      'If',
      [cond],
      [attr('then_branch', 'graph', branch('then', 'Relu', x)), attr('else_branch', 'graph', branch('else', 'Neg', x))],
      { outputs: ['picked'] },
    );
    const model = finish(g, op(g, 'Sigmoid', [node.outputs[0]]), 16);
    while (foldConstants(model.graph, 16) > 0);
    expect(opTypes(model)).toEqual(['Relu', 'Sigmoid']); // rank 2 ≠ 3: Not gives true, the then branch
  });

  it("gives a Loop's carried outputs their body outputs' types and leaves scan outputs unknown", () => {
    const { graph: g, x } = graphWithInput([1, 4]);
    const body = new Graph('body');
    body.addInput('i', tensorType('int64', []));
    const condIn = body.addInput('cond_in', tensorType('bool', []));
    const vIn = body.addInput('v_in', tensorType('float32', [1, 4]));
    const vOut = body.op('Relu', [vIn], {}, { outputs: ['v_out'] }).outputs[0];
    const scan = body.op('Neg', [vIn], {}, { outputs: ['scan'] }).outputs[0];
    body.outputs.push(body.op('Identity', [condIn], {}, { outputs: ['cond_out'] }).outputs[0], vOut, scan);
    const trip = g.addInitializer('trip', Tensor.from('int64', [], [3]));
    const loop = g.op('Loop', [trip, undefined, x], [attr('body', 'graph', body)], { outputs: ['final', 'scans'] });
    const model = finish(g, loop.outputs[0], 16);
    inferShapes(model);
    expect(loop.outputs[0].type).toEqual(tensorType('float32', [1, 4]));
    expect(loop.outputs[1].shape).toBeUndefined();
  });
});
