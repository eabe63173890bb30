import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { Graph } from './ir/graph.js';
import { Model } from './ir/model.js';
import { tensorType } from './ir/types.js';
import { encodeModel } from './onnx/encode.js';
import { Tensor } from './tensor/tensor.js';
import { compressedSize, modelFigures } from './figures.js';

function gemm(batch: number | string): Model {
  const g = new Graph('g');
  const x = g.addInput('x', tensorType('float32', [batch, 64]));
  const w = Float32Array.from({ length: 64 * 32 }, (_, i) => (i % 3 ? 0 : Math.sin(i)));
  const y = g.op('Gemm', [x, g.addInitializer('w', Tensor.from('float32', [64, 32], w))], {}, { outputs: ['y'] });
  g.outputs.push(y.outputs[0]);
  return new Model(g, { opsetImports: new Map([['', 17]]) });
}

describe('model figures', () => {
  it('counts parameters, MACs per sample (named batch = 1) and the encoded size', () => {
    const model = gemm('batch');
    expect(modelFigures(model)).toEqual({ params: 64 * 32, macs: 64 * 32, sizeBytes: encodeModel(model).byteLength });
    expect(modelFigures(gemm(4)).macs).toBe(4 * 64 * 32);
    expect(model.graph.outputs[0].shape).toBeUndefined(); // shapes were inferred on a clone
  });

  it('compressed size is what zlib writes at its default level', async () => {
    const bytes = encodeModel(gemm(1));
    expect(await compressedSize(bytes)).toBe(gzipSync(bytes).byteLength);
    expect(await compressedSize(gemm(1))).toBeLessThan(bytes.byteLength * 0.8);
  });
});
