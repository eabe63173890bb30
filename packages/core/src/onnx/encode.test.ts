import { describe, expect, it } from 'vitest';
import { Graph } from '../ir/graph.js';
import { Model } from '../ir/model.js';
import { Tensor } from '../tensor/tensor.js';
import { tensorType } from '../ir/types.js';
import { encodeModel, encodeModelChunks } from './encode.js';
import { decodeModel } from './decode.js';

function model(): Model {
  const g = new Graph('g');
  let v = g.addInput('x', tensorType('float32', [1, 300]));
  for (let i = 0; i < 3; i++) {
    const w = g.addInitializer(
      `w${i}`,
      Tensor.from(
        'float32',
        [300, 300],
        Float32Array.from({ length: 90000 }, (_, j) => (j * (i + 1)) % 7),
      ),
    );
    v = g.op('MatMul', [v, w]).outputs[0];
  }
  g.addInitializer('small', Tensor.from('int64', [2], [1n, 2n]));
  v.type = tensorType('float32', [1, 300]);
  g.outputs.push(v);
  return new Model(g);
}

describe('encodeModelChunks', () => {
  it('concatenates to exactly the bytes of encodeModel, referencing large tensors without copying', () => {
    const m = model();
    const whole = encodeModel(m);
    const chunks = encodeModelChunks(m, { spliceThreshold: 1024 });
    const joined = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
    let o = 0;
    for (const c of chunks) {
      joined.set(c, o);
      o += c.byteLength;
    }
    expect(joined).toEqual(whole);
    const w0 = m.graph.initializers.get('w0')!.const!.bytes;
    expect(chunks.some((c) => c.buffer === w0.buffer && c.byteOffset === w0.byteOffset)).toBe(true);
    expect(decodeModel(joined).graph.initializers.size).toBe(4);
  });
});

describe('value_info', () => {
  it('leaves out intermediate values whose element type is unknown (onnxruntime rejects element type 0)', () => {
    const g = new Graph('g');
    const x = g.addInput('x', tensorType('float32', [2]));
    const known = g.op('Relu', [x]).outputs[0];
    known.type = tensorType('float32', [2]);
    const unknown = g.op('Neg', [known]).outputs[0];
    unknown.type = tensorType(undefined, [2]);
    const y = g.op('Abs', [unknown]).outputs[0];
    y.type = tensorType('float32', [2]);
    g.outputs.push(y);
    const back = decodeModel(encodeModel(new Model(g)));
    const types = Object.fromEntries([...back.graph].map((n) => [n.opType, n.outputs[0].type]));
    expect(types.Relu).toEqual(tensorType('float32', [2]));
    expect(types.Neg).toBeUndefined();
  });
});
