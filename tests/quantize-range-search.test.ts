/**
 * Calibration method per tensor chosen by the output (`method: 'auto'` with evaluation data), on
 * a real model: PP-OCR's direction classifier (paddle2onnx, MobileNetV3 with hard-swish and
 * squeeze-and-excitation; scripts/real-models.json `ppocr-mobile-v2-cls`) on lines of digits.
 * The judge is onnxruntime itself: every model is run in a fresh InferenceSession here and its
 * output SQNR against float computed from the raw outputs, not from the library's report.
 */
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { InvalidArgumentError, Tensor, encodeModel, type Model } from '@edgeml/core';
import { loadModel } from '@edgeml/core/node';
import { NodeBackend } from '@edgeml/runtime-node';
import { quantize, type CalibrationSample, type QuantizeOptions } from '@edgeml/quantize';
import { loadSuite } from './support/real-models.js';
import { textPage } from './support/real-model-data.js';
import { mnistSplit } from './support/mnist.js';

const [H, W] = [48, 192];
const backend = new NodeBackend();

/** `count` lines of digits from seed `from`, every other one turned 180°, PaddleOCR-normalised. */
function lines(from: number, count: number): CalibrationSample[] {
  const digits = mnistSplit().test.images;
  return Array.from({ length: count }, (_, s) => {
    const page = textPage(H, W, from + s, digits);
    if (s % 2) page.reverse();
    const x = new Float32Array(3 * H * W);
    for (let c = 0; c < 3; c++)
      x.set(
        page.map((v) => (v - 0.5) / 0.5),
        c * H * W,
      );
    return { x: Tensor.from('float32', [1, 3, H, W], x) };
  });
}

/** Every output value of `model` on `samples`, concatenated, from onnxruntime-node directly. */
async function ortOutputs(model: Model, samples: CalibrationSample[]): Promise<number[]> {
  const session = await ort.InferenceSession.create(encodeModel(model), { logSeverityLevel: 4 });
  const out: number[] = [];
  for (const { x } of samples) {
    const result = await session.run({ x: new ort.Tensor('float32', x.data as Float32Array, x.dims) });
    out.push(...(result[session.outputNames[0]].data as Float32Array));
  }
  await session.release();
  return out;
}

const sqnrDb = (reference: number[], got: number[]) => {
  let signal = 0,
    noise = 0;
  reference.forEach((v, i) => ((signal += v * v), (noise += (v - got[i]) ** 2)));
  return 10 * Math.log10(signal / noise);
};

describe("calibration method chosen by the output SQNR (method 'auto', PP-OCR direction classifier)", () => {
  it('is never below any one method for the whole model on the samples it judges by, as onnxruntime measures it', async () => {
    const float = await loadModel(loadSuite().files['ppocr-mobile-v2-cls']);
    const samples = lines(0, 8);
    const reference = await ortOutputs(float, samples);
    // Bias correction off: the search's figures and onnxruntime's are then of the same models.
    const options: QuantizeOptions = {
      mode: 'static',
      calibrationData: samples,
      evaluationData: samples,
      backend,
      biasCorrection: false,
      sqnrFloorDb: false,
    };
    const auto = await quantize(float, { ...options, method: 'auto' });
    const search = auto.rangeSearch!;
    const measured = sqnrDb(reference, await ortOutputs(auto.model, samples));
    expect(measured).toBeCloseTo(auto.sqnrDb!, 1);
    expect(search.sqnrDb).toBe(auto.sqnrDb);
    for (const method of ['minmax', 'percentile', 'entropy'] as const) {
      const single = await quantize(float, { ...options, method });
      const singleDb = sqnrDb(reference, await ortOutputs(single.model, samples));
      // The whole-model comparison measured what quantizing with that one method gives.
      expect(search.wholeModel[method]).toBeCloseTo(singleDb, 1);
      expect(measured).toBeGreaterThanOrEqual(singleDb - 0.05);
    }
    // Each tensor's own choice is a start too; the result is the start plus every step kept.
    expect(measured).toBeGreaterThanOrEqual(search.wholeModel.local - 0.05);
    expect(search.wholeModel[search.startedFrom]).toBe(Math.max(...Object.values(search.wholeModel)));
    const kept = search.steps.filter((s) => s.kept);
    let best = search.wholeModel[search.startedFrom];
    for (const step of search.steps) {
      expect(step.kept).toBe(step.outputSqnrDb > best + 0.05);
      if (step.kept) best = step.outputSqnrDb;
      expect(step.to).not.toBe(step.from);
    }
    expect(kept.length ? kept.at(-1)!.outputSqnrDb : search.wholeModel[search.startedFrom]).toBeCloseTo(
      auto.sqnrDb!,
      6,
    );
    // The methods the report gives each tensor are the ones the steps left it with.
    for (const step of kept) for (const t of step.tensors) expect(auto.ranges![t].method).toBe(step.to);
  });

  it('is bounded by maxTensors, off with rangeSearch: false, and refuses a bound that is not a whole number', async () => {
    const float = await loadModel(loadSuite().files['ppocr-mobile-v2-cls']);
    const samples = lines(20, 4);
    const options = {
      mode: 'static',
      calibrationData: samples,
      evaluationData: samples,
      backend,
      method: 'auto',
      sqnrFloorDb: false,
    } as const;
    const bounded = await quantize(float, { ...options, rangeSearch: { maxTensors: 2 } });
    expect(bounded.rangeSearch!.steps.length).toBeLessThanOrEqual(2);
    const off = await quantize(float, { ...options, rangeSearch: false });
    expect(off.rangeSearch).toBeUndefined();
    await expect(quantize(float, { ...options, rangeSearch: { maxTensors: 1.5 } })).rejects.toThrow(
      InvalidArgumentError,
    );
    await expect(quantize(float, { ...options, rangeSearch: { maxTensors: 1.5 } })).rejects.toThrow(/rangeSearch/);
  });
});
