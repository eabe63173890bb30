/**
 * Label-free sensitivity, mixed precision, the SQNR floor and per-tensor calibration choice,
 * judged by onnxruntime: a network with one layer made sensitive on purpose (its input has one
 * channel 1000× the others), measured on held-out samples the search never saw.
 */
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, Graph, Model, Tensor, tensorType } from '@edgeml/core';
import { NodeBackend } from '@edgeml/runtime-node';
import {
  calibrate,
  compareOutputs,
  computeScaleZeroPoint,
  quantRange,
  quantize,
  type QuantizeOptions,
} from '@edgeml/quantize';
import { outlierChannelNet, outlierChannelSamples } from './support/models.js';

const backend = new NodeBackend();
const calibration = outlierChannelSamples(8, 100);
const heldOut = outlierChannelSamples(8, 900);
const staticOptions = { mode: 'static', calibrationData: calibration, evaluationData: calibration, backend } as const;

const heldOutSqnr = async (model: Model) =>
  Math.min(...(await compareOutputs(outlierChannelNet(), model, heldOut, backend)).map((e) => e.sqnrDb));

describe('label-free sensitivity', () => {
  it('ranks first the layer made sensitive, measured by keeping it alone out of int8', async () => {
    const r = await quantize(outlierChannelNet(), { ...staticOptions, sensitivity: true, sqnrFloorDb: false });
    const ranking = r.sensitivity!;
    expect(ranking[0].layer).toBe('narrow');
    expect(ranking[0].nodes).toEqual(['narrow', 'narrow_relu']);
    // Its measured output SQNR is what the all-int8 one plus its gain says, and far above the rest.
    expect(ranking[0].outputSqnrDb).toBeCloseTo(r.sqnrDb! + ranking[0].gainDb, 6);
    expect(ranking[0].gainDb).toBeGreaterThan(10);
    expect(ranking[0].noiseShare).toBeGreaterThan(0.9);
    expect(ranking.slice(1).every((s) => s.gainDb < ranking[0].gainDb / 2)).toBe(true);
    // The model handed back is the all-int8 one: measuring changes nothing.
    expect(r.fallbackNodes).toBeUndefined();
    expect(r.skippedNodes.some((n) => n.name === 'narrow')).toBe(false);
  });
});

describe('mixed precision to an SQNR target', () => {
  it('meets the target on held-out data by taking the sensitive layer out of int8 first', async () => {
    const base = await quantize(outlierChannelNet(), { ...staticOptions, sqnrFloorDb: false });
    const target = base.sqnrDb! + 15;
    const r = await quantize(outlierChannelNet(), { ...staticOptions, accuracyBudget: { minSqnrDb: target } });
    expect(r.budgetMet).toBe(true);
    // Cheapest per share of noise first: a float GlobalAveragePool costs next to nothing, so it may
    // go before the sensitive layer, which goes in any case; nothing else is needed.
    expect(r.mixedPrecision!.map((l) => l.layer)).toContain('narrow');
    expect(r.mixedPrecision!.length).toBeLessThanOrEqual(2);
    expect(r.mixedPrecision!.every((l) => l.precision === 'float')).toBe(true);
    expect(r.fallbackNodes).toEqual(expect.arrayContaining(['narrow', 'narrow_relu']));
    expect(r.sqnrDb!).toBeGreaterThanOrEqual(target);
    expect(r.mixedPrecision!.at(-1)!.sqnrDbAfter).toBeCloseTo(r.sqnrDb!, 6);
    // Samples the search never saw, on a fresh onnxruntime session.
    expect(await heldOutSqnr(r.model)).toBeGreaterThanOrEqual(target - 1);
    expect(await heldOutSqnr(base.model)).toBeLessThan(target - 10);
  });

  it('costed by size, keeps the layer in int16 activations (opset 21), which onnxruntime runs', async () => {
    const base = await quantize(outlierChannelNet(), { ...staticOptions, sqnrFloorDb: false });
    const target = base.sqnrDb! + 15;
    const r = await quantize(outlierChannelNet(), {
      ...staticOptions,
      accuracyBudget: { minSqnrDb: target, precisions: ['float', 'int16'], cost: 'size' },
    });
    expect(r.model.opset()).toBe(21);
    // The outlier tensor is wide's output and narrow's input: widening either layer fixes it.
    expect(r.mixedPrecision).toHaveLength(1);
    expect(r.mixedPrecision![0].precision).toBe('int16');
    expect(['wide', 'narrow']).toContain(r.mixedPrecision![0].layer);
    expect(r.fallbackNodes).toEqual([]);
    expect(r.budgetMet).toBe(true);
    expect(await heldOutSqnr(r.model)).toBeGreaterThanOrEqual(target - 1);
    const int16 = r.model.graph.nodes.filter(
      (n) => n.opType === 'QuantizeLinear' && n.inputs[2]?.const?.dtype === 'int16',
    );
    expect(int16.map((n) => n.inputs[0]!.name)).toContain('wide_out');
    // Float weights cost 4× their int8 bytes; int16 activations cost no weight bytes.
    const measured = r.sensitivity!.filter((s) => s.layer === r.mixedPrecision![0].layer);
    const [float, wide] = ['float', 'int16'].map((p) => measured.find((s) => s.precision === p)!);
    expect(wide.sizeCost).toBeLessThan(float.sizeCost);
  });

  it('says so when the int16 run search was tried and fell short, with what it measured', async () => {
    const base = await quantize(outlierChannelNet(), { ...staticOptions, sqnrFloorDb: false });
    const r = await quantize(outlierChannelNet(), {
      ...staticOptions,
      accuracyBudget: { minSqnrDb: 300, precisions: ['int16'], maxFallbackNodes: 0 },
    });
    expect(r.budgetMet).toBe(false);
    expect(r.mixedPrecision).toEqual([]);
    const runs = r.runSearch!;
    expect(runs.met).toBe(false);
    expect(runs.measured).toBeGreaterThan(0);
    // Its best variant is at least the base (it starts there) and far from an unreachable 300 dB.
    expect(runs.sqnrDb).toBeGreaterThanOrEqual(base.sqnrDb! - 1e-9);
    expect(runs.sqnrDb).toBeLessThan(300);
    const met = await quantize(outlierChannelNet(), {
      ...staticOptions,
      accuracyBudget: { minSqnrDb: base.sqnrDb! + 15, precisions: ['int16'] },
    });
    expect(met.runSearch).toBeUndefined();
  });
});

describe('the SQNR floor', () => {
  it('warns under it, naming a budget that, applied, meets it', async () => {
    const r = await quantize(outlierChannelNet(), staticOptions);
    expect(r.sqnrDb!).toBeLessThan(20);
    const [warning] = r.warnings!;
    expect(warning).toMatchObject({ code: 'sqnr-below-floor', floorDb: 20, setting: { minSqnrDb: 20 }, met: true });
    expect(warning.message).toMatch(/under the 20 dB floor; accuracyBudget \{ minSqnrDb: 20 \} meets it/);
    expect(warning.layers.map((l) => l.layer)).toContain('narrow');
    // The model returned is still all int8.
    expect(r.fallbackNodes).toBeUndefined();
    const fixed = await quantize(outlierChannelNet(), { ...staticOptions, accuracyBudget: warning.setting });
    expect(fixed.budgetMet).toBe(true);
    expect(fixed.sqnrDb!).toBeGreaterThanOrEqual(20);
    expect(fixed.mixedPrecision!.map((l) => l.layer)).toEqual(warning.layers.map((l) => l.layer));
    expect(await heldOutSqnr(fixed.model)).toBeGreaterThanOrEqual(19);
  });

  it('takes another floor, or none', async () => {
    const lower = await quantize(outlierChannelNet(), { ...staticOptions, sqnrFloorDb: -100 });
    expect(lower.warnings).toBeUndefined();
    const off = await quantize(outlierChannelNet(), { ...staticOptions, sqnrFloorDb: false });
    expect(off.warnings).toBeUndefined();
    expect(off.sensitivity).toBeUndefined();
  });

  it('rejects bad options with typed errors naming them', async () => {
    const bad = async (options: Partial<QuantizeOptions>, option: string) => {
      const error = await quantize(outlierChannelNet(), { ...staticOptions, ...options }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).option).toBe(option);
    };
    await bad({ sqnrFloorDb: Number.NaN }, 'sqnrFloorDb');
    await bad({ accuracyBudget: { minSqnrDb: 30, precisions: ['int8' as never] } }, 'accuracyBudget.precisions');
    await bad({ accuracyBudget: { minSqnrDb: 30, cost: 'latency' as never } }, 'accuracyBudget.cost');
    await bad({ sensitivity: { maxCandidates: 0 } }, 'sensitivity.maxCandidates');
    await bad({ mode: 'dynamic', sensitivity: true }, 'sensitivity');
    await bad(
      { format: 'qoperator', accuracyBudget: { minSqnrDb: 30, precisions: ['int16'] } },
      'accuracyBudget.precisions',
    );
  });
});

const WIDTH = 2 ** 19;

/** x → Relu → hidden → Relu → y, of [1, WIDTH]: `hidden` is an inner activation calibration ranges. */
function reluChain(): Model {
  const g = new Graph('chain');
  const x = g.addInput('x', tensorType('float32', [1, WIDTH]));
  const hidden = g.op('Relu', [x], {}, { name: 'first' }).outputs[0];
  hidden.name = 'hidden';
  const y = g.op('Relu', [hidden], {}, { name: 'second' }).outputs[0];
  y.name = 'y';
  y.type = tensorType('float32', [1, WIDTH]);
  g.outputs.push(y);
  return new Model(g, { opsetImports: new Map([['', 17]]), irVersion: 8 });
}

/** SQNR of `values` quantized to uint8 over `range` and back, computed directly (the oracle). */
function fakeQuantSqnr(values: Float32Array, range: { min: number; max: number }): number {
  const { scale, zeroPoint } = computeScaleZeroPoint(range.min, range.max, quantRange('uint8'), false);
  let signal = 0,
    noise = 0;
  for (const v of values) {
    const q = Math.min(255, Math.max(0, Math.round(v / scale) + zeroPoint));
    signal += v * v;
    noise += (v - (q - zeroPoint) * scale) ** 2;
  }
  return 10 * Math.log10(signal / noise);
}

describe('calibration method per tensor (auto)', () => {
  // One value of 100 among 2M in [0, 1]: minmax spends the 256 levels on it, a clip at ~1
  // costs that one value its size. By squared error the clip wins only when outliers are rarer
  // than about one per 255²·12 ≈ 780,000 values (uint8); denser ones keep minmax.
  const sample = (outlier: boolean, seed: number) => {
    const values = Float32Array.from({ length: WIDTH }, (_, i) => Math.abs(Math.sin(seed * 7919 + i * 0.37)));
    if (outlier && seed === 1) values[12345] = 100;
    return { x: Tensor.from('float32', [1, WIDTH], values) };
  };

  it('clips a tensor with a very rare outlier and keeps the extremes of one without, from one pass', async () => {
    for (const [outlier, expected] of [
      [true, ['percentile', 'entropy']],
      [false, ['minmax']],
    ] as const) {
      const data = Array.from({ length: 4 }, (_, i) => sample(outlier, i + 1));
      const [range] = (await calibrate(reluChain(), data, backend, ['hidden'], { method: 'auto' })).values();
      expect(expected).toContain(range.method);
      const scores = range.sqnrDb!;
      expect(Object.keys(scores).sort()).toEqual(['entropy', 'minmax', 'percentile']);
      // The chosen range is the best of the three on these values, quantized for real.
      const all = new Float32Array(data.flatMap((d) => Array.from(d.x.data)));
      const real = fakeQuantSqnr(all, range);
      const minmax = await calibrate(reluChain(), data, backend, ['hidden'], { method: 'minmax' });
      expect(real).toBeGreaterThanOrEqual(fakeQuantSqnr(all, minmax.get('hidden')!) - 0.5);
      // The histogram estimate it chose by is the real figure, to within the histogram's resolution.
      expect(Math.abs(scores[range.method!]! - real)).toBeLessThan(1.5);
    }
  });

  it('is taken by quantize(), and each quantized activation says which method it got', async () => {
    const r = await quantize(outlierChannelNet(), { ...staticOptions, method: 'auto', sqnrFloorDb: false });
    const inner = Object.entries(r.ranges!).filter(([name]) => name !== 'x' && name !== 'scores');
    expect(inner.length).toBeGreaterThan(0);
    for (const [, range] of inner) expect(['minmax', 'percentile', 'entropy']).toContain(range.method);
  });
});

describe('Relu after a Conv with a 16-bit output', () => {
  it('stays a Relu: only uint8 QuantizeLinear clamps at 0, a symmetric int16 one would let negatives through', async () => {
    const relu = outlierChannelNet().graph.nodes.find((n) => n.name === 'stem_relu')!.outputs[0].name;
    const plain = await quantize(outlierChannelNet(), { ...staticOptions, sqnrFloorDb: false });
    expect(plain.model.graph.nodes.some((n) => n.name === 'stem_relu')).toBe(false);
    const wide = await quantize(outlierChannelNet(), {
      ...staticOptions,
      sqnrFloorDb: false,
      typeOverrides: { [relu]: 'int16' },
    });
    expect(wide.model.graph.nodes.some((n) => n.name === 'stem_relu')).toBe(true);
    expect(await heldOutSqnr(wide.model)).toBeGreaterThanOrEqual((await heldOutSqnr(plain.model)) - 0.5);
  });
});
