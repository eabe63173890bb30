/**
 * Hybrid int8 (static convolutions, dynamic constant-weight MatMuls) and `quantizeAuto`'s choice
 * by measurement, on a small conv + attention model built here and on PP-OCRv4's recognizer,
 * with onnxruntime-node running every result.
 */
import { describe, expect, it } from 'vitest';
import { compare } from '@edgeml/benchmark';
import { Graph, Model, Tensor, eliminateDeadCode, tensorType, type Node } from '@edgeml/core';
import { quantize, quantizeAuto, type LatencyMeasure } from '@edgeml/quantize';
import { NodeBackend } from '@edgeml/runtime-node';
import { randomTensor } from './support/models.js';

const backend = new NodeBackend();

/**
 * A recognizer in miniature: Conv → Relu → tokens (Reshape, Transpose) → a projection MatMul
 * with a constant weight → attention scores (MatMul of two activations) → Softmax → MatMul.
 */
function convAttention(): Model {
  const g = new Graph('conv-attention');
  const x = g.addInput('image', tensorType('float32', [1, 4, 8, 8]));
  const conv = g.op(
    'Conv',
    [
      x,
      g.addInitializer('conv.w', randomTensor([8, 4, 3, 3], 1, 0.4)),
      g.addInitializer('conv.b', randomTensor([8], 2)),
    ],
    { pads: [1, 1, 1, 1] },
    { name: 'conv' },
  ).outputs[0];
  const act = g.op('Relu', [conv], {}, { name: 'relu' }).outputs[0];
  const shape = g.addInitializer('tokens.shape', Tensor.from('int64', [3], [1n, 8n, 64n]));
  const seq = g.op('Reshape', [act, shape], {}, { name: 'tokens' }).outputs[0];
  const tokens = g.op('Transpose', [seq], { perm: [0, 2, 1] }, { name: 'to_seq' }).outputs[0];
  const q = g.op('MatMul', [tokens, g.addInitializer('proj.w', randomTensor([8, 16], 3, 0.5))], {}, { name: 'proj' })
    .outputs[0];
  const kt = g.op('Transpose', [q], { perm: [0, 2, 1] }, { name: 'kt' }).outputs[0];
  const scores = g.op('MatMul', [q, kt], {}, { name: 'scores' }).outputs[0];
  const weights = g.op('Softmax', [scores], { axis: -1 }, { name: 'softmax' }).outputs[0];
  const y = g.op('MatMul', [weights, q], {}, { name: 'attend' }).outputs[0];
  y.name = 'features';
  y.type = tensorType('float32', [1, 64, 16]);
  g.outputs.push(y);
  return new Model(g, { opsetImports: new Map([['', 17]]), irVersion: 8 });
}

/** Just the convolution and its activation. */
function convOnly(): Model {
  const m = convAttention();
  const g = m.graph;
  const relu = g.nodes.find((n) => n.name === 'relu')!;
  relu.outputs[0].type = tensorType('float32', [1, 8, 8, 8]);
  g.outputs.splice(0, 1, relu.outputs[0]);
  eliminateDeadCode(g);
  return m;
}

const samples = Array.from({ length: 6 }, (_, i) => ({ image: randomTensor([1, 4, 8, 8], 10 + i) }));
const ops = (m: Model) => m.graph.nodes.map((n: Node) => n.opType);
const reader = (m: Model, name: string) => m.graph.nodes.find((n) => n.name === name)!;

describe('hybrid mode', () => {
  it('quantizes the convolution statically and the constant-weight MatMul dynamically', async () => {
    const r = await quantize(convAttention(), {
      mode: 'hybrid',
      calibrationData: samples,
      evaluationData: samples,
      backend,
    });
    expect(r.mode).toBe('hybrid');
    const kinds = ops(r.model);
    expect(kinds).toContain('QuantizeLinear'); // static part
    expect(kinds).toContain('DynamicQuantizeLinear');
    expect(kinds).toContain('MatMulInteger'); // dynamic part: proj
    // The projection reads its weight as int8 through MatMulInteger, not a DequantizeLinear.
    expect(r.quantizedNodes.find((n) => n.name === 'proj')?.reason).toMatch(/dynamic/);
    expect(reader(r.model, 'scores').inputs.every((v) => v?.producer()?.opType === 'DequantizeLinear')).toBe(true);
    expect(r.skippedNodes.map((n) => n.name)).not.toContain('proj');
    // onnxruntime runs it, close to float on the calibration samples.
    expect(r.sqnrDb).toBeGreaterThan(15);
  });

  it('differs from static only in the MatMuls with constant weights', async () => {
    const stat = await quantize(convAttention(), { mode: 'static', calibrationData: samples, backend });
    expect(ops(stat.model)).not.toContain('DynamicQuantizeLinear');
    expect(stat.quantizedNodes.map((n) => n.name).sort()).toEqual(
      (await quantize(convAttention(), { mode: 'hybrid', calibrationData: samples, backend })).quantizedNodes
        .map((n) => n.name)
        .sort(),
    );
  });
});

/** Candidates and float timed interleaved on onnxruntime-node, as the CLI does. */
const measure: LatencyMeasure = async (models) =>
  (
    await compare(
      models.map((model) => ({ model })),
      { backend, threads: 1, durationMs: 300 * models.length, warmup: 2, agreementSamples: 1 },
    )
  ).results.map((r) => r.latencyMs.p50);

describe('quantizeAuto', () => {
  it('keeps the fastest candidate within the SQNR margin of static, and reports every one', async () => {
    const margin = 3;
    const r = await quantizeAuto(convAttention(), { calibrationData: samples, backend, measure, sqnrMarginDb: margin });
    expect(r.candidates.map((c) => c.mode)).toEqual(['static', 'hybrid', 'dynamic']);
    const chosen = r.candidates.filter((c) => c.chosen);
    expect(chosen).toHaveLength(1);
    expect(r.mode).toBe(chosen[0].mode);
    const reference = r.candidates[0].sqnrDb!;
    const eligible = r.candidates.filter((c) => c.p50Ms !== undefined && c.sqnrDb! >= reference - margin);
    expect(chosen[0].p50Ms).toBe(Math.min(...eligible.map((c) => c.p50Ms!)));
    for (const c of r.candidates.filter((c) => !eligible.includes(c))) expect(c.note).toMatch(/SQNR/);
    // The returned model is the chosen candidate's: it runs, and its SQNR is the candidate's.
    expect(r.sqnrDb).toBe(chosen[0].sqnrDb);
  });

  it("builds the hybrid form on static's calibrated ranges: the same model as hybrid on its own", async () => {
    const auto = await quantizeAuto(convAttention(), {
      calibrationData: samples,
      backend,
      measure,
      candidates: ['static', 'hybrid'],
    });
    const alone = await quantize(convAttention(), {
      mode: 'hybrid',
      calibrationData: samples,
      evaluationData: samples,
      backend,
    });
    expect(auto.candidates[1].sqnrDb).toBeCloseTo(alone.sqnrDb!, 9);
    expect(auto.candidates[1].sizeAfter).toBe(alone.sizeAfter);
  });

  it('tries only the forms asked for, and names a form that does not apply', async () => {
    const r = await quantizeAuto(convOnly(), {
      calibrationData: samples,
      backend,
      measure,
      candidates: ['static', 'dynamic'],
    });
    expect(r.candidates.map((c) => c.mode)).toEqual(['static', 'dynamic']);
    expect(r.mode).toBe('static');
    // Dynamic quantizes MatMul/Gemm/Gather/LSTM/GRU, none of which this model has.
    expect(r.candidates[1]).toEqual({
      mode: 'dynamic',
      chosen: false,
      note: expect.stringMatching(/mode 'dynamic' quantizes no node/),
    });
  });

  it('refuses options it cannot act on, naming them', async () => {
    const base = { calibrationData: samples, backend, measure };
    await expect(quantizeAuto(convAttention(), { ...base, measure: undefined as never })).rejects.toThrow(
      expect.objectContaining({ name: 'InvalidArgumentError', option: 'measure' }),
    );
    await expect(quantizeAuto(convAttention(), { ...base, candidates: ['int4' as never] })).rejects.toThrow(
      /candidates take static, hybrid, dynamic; got int4/,
    );
    await expect(quantizeAuto(convAttention(), { ...base, sqnrMarginDb: -1 })).rejects.toThrow(/sqnrMarginDb/);
  });
});
