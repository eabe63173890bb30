/** The converter's contract: a new model, subgraphs and functions followed, imports updated, the table complete. */
import { describe, expect, it } from 'vitest';
import { Graph } from '../../ir/graph.js';
import { Model } from '../../ir/model.js';
import { Node } from '../../ir/node.js';
import { tensorType } from '../../ir/types.js';
import { encodeModel } from '../../onnx/encode.js';
import { ONNX_OPS } from '../../ops/op-names.js';
import { Tensor } from '../../tensor/tensor.js';
import { InvalidArgumentError, OpsetConversionError } from '../../errors.js';
import { PassManager } from '../pass.js';
import { ADAPTERS } from './adapters.js';
import { convertOpset, ensureOpset, opsetConversion } from './convert.js';
import { DEPRECATED_AT, MAX_CONVERTIBLE_OPSET, MIN_CONVERTIBLE_OPSET, OP_VERSIONS } from './versions.js';
import {
  expectConversionKeepsOutputs,
  feed,
  oneNodeModel,
  runOnOrt,
} from '../../../../../tests/support/opset-oracle.js';

/** y = If(c) then Clip-6(x) else Softmax-1(x): version changes inside both branches. */
function ifModel(opset: number): Model {
  const graph = new Graph('if');
  const c = graph.addInput('c', tensorType('bool', []));
  const x = graph.addInput('x', tensorType('float32', [2, 3]));
  const branch = (op: string, attributes: Record<string, number>) => {
    const g = new Graph(op);
    const out = g.op(op, [x], attributes, { outputs: [`${op}_y`] }).outputs[0];
    out.type = tensorType('float32', [2, 3]);
    g.outputs.push(out);
    return g;
  };
  const node = new Node({ opType: 'If', inputs: [c], outputs: ['y'] });
  node.setAttr('then_branch', 'graph', branch('Clip', { min: -0.5, max: 0.5 }));
  node.setAttr('else_branch', 'graph', branch('Softmax', { axis: 0 }));
  graph.append(node);
  node.outputs[0].type = tensorType('float32', [2, 3]);
  graph.outputs.push(node.outputs[0]);
  return new Model(graph, { opsetImports: new Map([['', opset]]), irVersion: 7 });
}

describe('convertOpset', () => {
  it('returns a new model and leaves the input byte for byte as it was', () => {
    const model = oneNodeModel({ op: 'Clip', opset: 9, inputs: [feed('x', [4])], attributes: { min: 0 } });
    const before = encodeModel(model);
    const { model: out, from, to, converted } = convertOpset(model, 13);
    expect(out).not.toBe(model);
    expect(encodeModel(model)).toEqual(before);
    expect([from, to, out.opset(), model.opset()]).toEqual([9, 13, 13, 9]);
    expect(converted).toEqual([
      { op: 'Clip', from: 6, to: 11, count: 1 },
      { op: 'Clip', from: 11, to: 12, count: 1 },
      { op: 'Clip', from: 12, to: 13, count: 1 },
    ]);
    expect(out.irVersion).toBe(8);
  });

  it('converts If branches, both ways, and they still compute the same on onnxruntime', async () => {
    for (const cond of [true, false]) {
      const feeds = { c: Tensor.from('bool', [], [cond]), x: feed('x', [2, 3]).value };
      const up = await expectConversionKeepsOutputs(ifModel(10), 21, feeds);
      const [thenBranch, elseBranch] = up.graph.nodes[0].subgraphs();
      expect(thenBranch.nodes[0].inputs.length).toBe(3);
      expect(elseBranch.nodes.map((n) => n.opType)).toEqual(['Shape', 'Flatten', 'Softmax', 'Reshape']);
      await expectConversionKeepsOutputs(up, 9, feeds);
    }
  });

  it('follows model-local functions and leaves other domains alone', () => {
    const model = oneNodeModel({ op: 'Squeeze', opset: 12, inputs: [feed('x', [1, 3])], attributes: { axes: [0] } });
    model.opsetImports.set('com.example', 1);
    model.graph.append(
      new Node({ opType: 'Squeeze', domain: 'com.example', inputs: [model.graph.inputs[0]], outputs: ['z'] }),
    );
    model.graph.nodes[1].setAttr('axes', 'ints', [0]);
    const body = new Graph('body');
    const bx = body.addInput('bx');
    body.outputs.push(body.op('Unsqueeze', [bx], { axes: [0] }, { outputs: ['by'] }).outputs[0]);
    model.functions.push({
      domain: 'com.example',
      name: 'expand',
      overload: '',
      graph: body,
      attributes: [],
      attributeDefaults: [],
      opsetImports: new Map([['', 12]]),
      docString: '',
      metadata: new Map(),
    });
    const out = convertOpset(model, 13).model;
    expect(out.opsetImports).toEqual(
      new Map([
        ['', 13],
        ['com.example', 1],
      ]),
    );
    expect(out.graph.nodes[1].attr('axes', 'ints')).toEqual([0]);
    expect(out.functions[0].opsetImports.get('')).toBe(13);
    expect(out.functions[0].graph.nodes[0].inputs.length).toBe(2);
    expect(model.functions[0].graph.nodes[0].inputs.length).toBe(1);
  });

  it('refuses what it cannot do exactly with typed errors naming node, op and opsets', () => {
    const layerNorm = oneNodeModel({
      op: 'LayerNormalization',
      opset: 17,
      inputs: [feed('x', [2, 3]), feed('s', [3])],
    });
    expect(() => convertOpset(layerNorm, 16)).toThrow(
      expect.objectContaining({ code: 'E_OPSET_CONVERSION', opType: 'LayerNormalization', from: 17, to: 16 }) as Error,
    );
    expect(() => convertOpset(layerNorm, 16)).toThrow(
      /LayerNormalization does not exist before opset 17; keep opset 17/,
    );
    const custom = oneNodeModel({ op: 'NotAnOnnxOp', opset: 13, inputs: [feed('x', [2])] });
    expect(() => convertOpset(custom, 14)).toThrow(OpsetConversionError);
    const old = oneNodeModel({ op: 'Relu', opset: 6, inputs: [feed('x', [2])] });
    expect(() => convertOpset(old, 13)).toThrow(/imports default-domain opset 6; the converter reads opsets 7 to 21/);
    expect(() => convertOpset(old, 22)).toThrow(InvalidArgumentError);
  });
});

describe('ensureOpset and opsetConversion', () => {
  it('ensureOpset returns the model itself when it is new enough, else a converted copy', async () => {
    const model = oneNodeModel({ op: 'Unsqueeze', opset: 11, inputs: [feed('x', [3])], attributes: { axes: [1] } });
    expect(ensureOpset(model, 11)).toBe(model);
    expect(ensureOpset(model, 9)).toBe(model);
    const raised = ensureOpset(model, 13);
    expect(raised.opset()).toBe(13);
    expect((await runOnOrt(raised, { x: feed('x', [3]).value })).y0.dims).toEqual([3, 1]);
  });

  it('opsetConversion is a pass that returns a copy, and reports no change at the target already', async () => {
    const model = oneNodeModel({ op: 'Clip', opset: 10, inputs: [feed('x', [4])], attributes: { max: 1 } });
    const result = await new PassManager([opsetConversion(13), opsetConversion(13)]).run(model);
    expect(result.log.map((l) => l.modified)).toEqual([true, false]);
    expect(result.model.opset()).toBe(13);
    expect(model.opset()).toBe(10);
  });
});

describe('the version table', () => {
  it('has one adapter per version change between the opsets it converts, and none for versions that do not exist', () => {
    const missing: string[] = [];
    const stray: string[] = [];
    for (const op of ONNX_OPS) {
      const versions = OP_VERSIONS[op] ?? [];
      for (const v of versions.slice(1))
        if (v > MIN_CONVERTIBLE_OPSET && v <= MAX_CONVERTIBLE_OPSET && !ADAPTERS[op]?.[v]) missing.push(`${op}-${v}`);
      for (const v of Object.keys(ADAPTERS[op] ?? {}).map(Number)) if (!versions.includes(v)) stray.push(`${op}-${v}`);
    }
    expect(missing).toEqual([]);
    expect(stray).toEqual([]);
    expect(
      Object.keys(DEPRECATED_AT).every((op) => ADAPTERS[op as 'Upsample']?.[DEPRECATED_AT[op as 'Upsample']!]?.up),
    ).toBe(true);
  });
});
