/** Magnitude and N:M pruning, judged on the weights onnxruntime runs. */
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { encodeModel } from '@edgeml/core';
import { loadModel } from '@edgeml/core/node';
import { compressedSize, modelFigures } from '@edgeml/core';
import { pruneMagnitude, pruneNM } from '@edgeml/prune';
import { runOrt } from './support/models.js';

const MNIST = path.join(__dirname, 'fixtures', 'mnist-cnn.onnx');

describe('unstructured sparsity', () => {
  it('magnitude, per layer: exactly the share asked for, smallest first; compresses better; onnxruntime runs it', async () => {
    const model = await loadModel(MNIST);
    const r = pruneMagnitude(model, { ratio: 0.7 });
    for (const l of r.layers) expect(l.sparsity).toBeCloseTo(Math.floor(l.size * 0.7) / l.size, 9);
    // Every kept weight is at least as large as every zeroed one, per layer.
    for (const n of r.model.graph) {
      if (!['Conv', 'Gemm'].includes(n.opType)) continue;
      const before = [...model.graph].find((m) => m.name === n.name)!.inputs[1]!.const!.toFloat64();
      const after = n.inputs[1]!.const!.toFloat64();
      const dropped = Math.max(...before.filter((_, i) => after[i] === 0).map(Math.abs));
      const kept = Math.min(...before.filter((_, i) => after[i] !== 0).map(Math.abs));
      expect(dropped).toBeLessThanOrEqual(kept);
    }
    expect(await compressedSize(r.model)).toBeLessThan((await compressedSize(model)) * 0.6);
    const out = await runOrt(encodeModel(r.model), {
      image: (await import('@edgeml/core')).Tensor.from('float32', [1, 1, 28, 28], new Float32Array(784).fill(0.5)),
    });
    expect(out.logits.dims).toEqual([1, 10]);
    expect(modelFigures(r.model).params).toBe(modelFigures(model).params); // zeros still take room in a dense file
  });

  it('global magnitude uses one threshold; 2:4 keeps two of every four along the reduction', async () => {
    const model = await loadModel(MNIST);
    const g = pruneMagnitude(model, { ratio: 0.5, scope: 'global' });
    expect(g.sparsity).toBeGreaterThan(0.49);
    expect(g.sparsity).toBeLessThan(0.51);
    const nm = pruneNM(model, { n: 2, m: 4 });
    for (const n of nm.model.graph) {
      if (n.opType !== 'Conv') continue;
      const w = n.inputs[1]!.const!;
      const d = w.toFloat64();
      const row = w.size / w.dims[0];
      for (let r = 0; r < w.dims[0]; r++)
        for (let s = 0; s + 4 <= row; s += 4)
          expect([0, 1, 2, 3].filter((j) => d[r * row + s + j] !== 0).length).toBeLessThanOrEqual(2);
    }
    expect(() => pruneNM(model, { n: 4, m: 4 })).toThrow(/0 < N < M/);
    expect(() => pruneMagnitude(model, { ratio: -0.1 })).toThrow(/ratio must be in \[0, 1\)/);
    expect(() => pruneMagnitude(model, { ratio: 0.5, exclude: ['nope'] })).toThrow(/no node 'nope'/);
  });
});
