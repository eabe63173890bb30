/**
 * Full-integer int8 of a real model for the real-model suite's TFLite column: @edgeml/quantize's
 * static QDQ scheme with TFLite's conventions, calibrated on the suite's calibration samples (the
 * samples after the held-out one: what tests/real-models.test.ts writes to
 * .tmp/real-models/<id>/calibration and `edgeml export --quantize int8 --calibration` reads),
 * exported by @edgeml/tflite, and judged on the held-out sample: the .tflite on TFLite's int8
 * kernels against the float ONNX model and the QDQ model, both on onnxruntime-node.
 */
import {
  Tensor,
  UnsupportedOpError,
  fixInputShapes,
  freezeInputs,
  measureFidelity,
  type Fidelity,
  type Model,
} from '@edgeml/core';
import { TFLITE_STATIC_OPS, quantize } from '@edgeml/quantize';
import { NodeBackend } from '@edgeml/runtime-node';
import { checkFullIntegerControlFlow, exportTflite } from '@edgeml/tflite';
import { onOnnxruntime, onTflite, relativeDiffs, worst } from './tflite-oracle.js';
import type { Sample } from './real-model-data.js';

/** What the int8 column records for one model. */
export type Int8Row =
  | { converts: false; opType: string; nodeName: string; reason: string }
  | {
      converts: true;
      tfliteBytes: number;
      int8Tensors: number;
      exportMs: number;
      /** Per output: the .tflite against the float model, and against the QDQ model it was made from. */
      vsFloat: Int8Fidelity[];
      vsQdq: Int8Fidelity[];
      /** Largest |Δ| against the float model over its output's largest magnitude (at least 1). */
      relativeDiff: number;
    };

/** The figures the table shows, of one output. */
export type Int8Fidelity = Pick<Fidelity, 'output' | 'sqnrDb' | 'cosineSimilarity' | 'maxAbsDiff' | 'top1Agreement'>;

const fidelity = (f: Fidelity): Int8Fidelity => ({
  output: f.output,
  sqnrDb: f.sqnrDb,
  cosineSimilarity: f.cosineSimilarity,
  maxAbsDiff: f.maxAbsDiff,
  ...(f.top1Agreement === undefined ? {} : { top1Agreement: f.top1Agreement }),
});

/**
 * Quantize, export and judge `model` (its inputs in `specialize` fixed, the others at `shapes`);
 * an UnsupportedOpError (the op and node that stop it) is recorded, any other error thrown.
 */
export async function int8Row(
  model: Model,
  samples: Sample[],
  shapes: Record<string, number[]>,
  specialize: Record<string, Tensor> | undefined,
): Promise<Int8Row> {
  const free = (s: Sample) => Object.fromEntries(Object.entries(s).filter(([name]) => !specialize?.[name]));
  const started = performance.now();
  let qdq: Model, bytes: Uint8Array, int8Tensors: number;
  try {
    // As `edgeml export --quantize int8` runs: control flow refused before calibrating.
    await checkFullIntegerControlFlow(model, { shapes, specialize });
    const work = model.clone();
    if (specialize) freezeInputs(work, specialize);
    fixInputShapes(work, shapes);
    ({ model: qdq } = await quantize(work, {
      mode: 'static',
      calibrationData: samples.slice(1).map(free),
      backend: new NodeBackend(),
      activationType: 'int8',
      activationSymmetric: false,
      weightType: 'int8',
      perChannel: true,
      opTypes: TFLITE_STATIC_OPS,
    }));
    const exported = await exportTflite(qdq, { quantize: 'int8', shapes });
    [bytes, int8Tensors] = [exported.bytes, exported.report.int8Tensors];
  } catch (e) {
    if (!(e instanceof UnsupportedOpError)) throw e;
    return { converts: false, opType: e.opType, nodeName: e.nodeName ?? '', reason: e.message };
  }
  const exportMs = Math.round(performance.now() - started);
  const [float, reference, got] = [
    await onOnnxruntime(model, samples[0]),
    await onOnnxruntime(qdq, free(samples[0])),
    await onTflite(bytes, free(samples[0])),
  ];
  return {
    converts: true,
    tfliteBytes: bytes.byteLength,
    int8Tensors,
    exportMs,
    vsFloat: measureFidelity([float], [got]).map(fidelity),
    vsQdq: measureFidelity([reference], [got]).map(fidelity),
    relativeDiff: worst(relativeDiffs(float, got)),
  };
}
