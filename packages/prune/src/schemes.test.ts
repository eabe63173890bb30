import { describe, expect, it } from 'vitest';
import { Graph, InvalidArgumentError, Model, Tensor, encodeModel, tensorType } from '@edgeml/core';
import { prune, pruningSchemes, type PruningScheme } from './schemes.js';
import { pruneNM } from './unstructured.js';

function mlp(): Model {
  const g = new Graph('mlp');
  const x = g.addInput('x', tensorType('float32', [1, 8]));
  const w = (name: string, n: number, k: number) =>
    g.addInitializer(
      name,
      Tensor.from(
        'float32',
        [k, n],
        Float32Array.from({ length: n * k }, (_, i) => Math.sin(i + n)),
      ),
    );
  const h = g.op('Relu', [g.op('MatMul', [x, w('w1', 16, 8)], {}, { name: 'fc1' }).outputs[0]], {}, { name: 'relu' });
  const y = g.op('MatMul', [h.outputs[0], w('w2', 4, 16)], {}, { name: 'fc2', outputs: ['y'] }).outputs[0];
  y.type = tensorType('float32', [1, 4]);
  g.outputs.push(y);
  return new Model(g, { opsetImports: new Map([['', 17]]) });
}

describe('prune() and pruningSchemes', () => {
  it('runs the registered method: the same model as calling the pruner, the input untouched', async () => {
    const model = mlp();
    const before = encodeModel(model);
    const r = await prune(model, { method: 'nm', n: 2, m: 4 });
    expect(r.method).toBe('nm');
    expect(encodeModel(r.model)).toEqual(encodeModel(pruneNM(model, { n: 2, m: 4 }).model));
    expect(r.sparsity).toEqual(pruneNM(model, { n: 2, m: 4 }).sparsity);
    expect(encodeModel(model)).toEqual(before);
    const c = await prune(model, { method: 'channel', ratio: 0.5 });
    expect(c.groups!.find((gr) => gr.producers.includes('fc1'))).toMatchObject({
      channelsBefore: 16,
      channelsAfter: 8,
    });
  });

  it('names every method for an unknown one, and checks options before touching the model', async () => {
    expect(pruningSchemes.names()).toEqual(['channel', 'magnitude', 'nm']);
    await expect(prune(mlp(), { method: 'lottery' })).rejects.toThrow(
      /unknown pruning method 'lottery'; use channel, magnitude, nm/,
    );
    await expect(prune(mlp(), { method: 'magnitude', ratio: 1 })).rejects.toThrow(InvalidArgumentError);
    await expect(prune(mlp(), { method: 'nm', n: 4, m: 2 })).rejects.toThrow(/0 < N < M, got 4:2/);
  });

  it('takes a method of your own', async () => {
    const zeroBiases: PruningScheme<{ below: number }> = {
      name: 'tiny-weights-to-zero',
      summary: 'zero every weight below a magnitude',
      validate: (o) => {
        if (!(o.below > 0)) throw new InvalidArgumentError('below must be positive', 'below');
      },
      passes: (o, record) => [
        {
          name: 'zero-tiny',
          inPlace: false,
          run(model) {
            const copy = model.clone();
            let zeros = 0;
            for (const v of copy.graph.initializers.values()) {
              const data = Float32Array.from(v.const!.data as Float32Array, (x) =>
                Math.abs(x) < o.below ? (zeros++, 0) : x,
              );
              v.const = Tensor.from('float32', v.const!.dims, data);
            }
            record.sparsity = zeros / (8 * 16 + 16 * 4);
            return { model: copy, modified: zeros > 0 };
          },
        },
      ],
    };
    pruningSchemes.register(zeroBiases);
    try {
      const r = await prune(mlp(), { method: 'tiny-weights-to-zero', below: 0.5 });
      expect(r.sparsity).toBeGreaterThan(0);
      await expect(prune(mlp(), { method: 'tiny-weights-to-zero', below: 0 })).rejects.toThrow(
        /below must be positive/,
      );
    } finally {
      pruningSchemes.unregister('tiny-weights-to-zero');
    }
  });
});
