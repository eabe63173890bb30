/**
 * Full-integer int8 of a real model for the real-model suite's TFLite column: @edgeml/quantize's
 * static QDQ scheme with TFLite's conventions, calibrated on the suite's calibration samples (the
 * samples after the held-out one: what tests/real-models.test.ts writes to
 * .tmp/real-models/<id>/calibration and `edgeml export --quantize int8 --calibration` reads),
 * exported by @edgeml/tflite full-integer or, where that is refused, with floatFallback, and
 * judged on the held-out sample: the .tflite on TFLite's int8 kernels against the float ONNX
 * model and the QDQ model, both on onnxruntime-node.
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
import { onOnnxruntime, onTflite, relativeDiffs } from './tflite-oracle.js';
import type { Sample } from './real-model-data.js';

/** The figures the table shows, of one output. */
export type Int8Fidelity = Pick<Fidelity, 'output' | 'sqnrDb' | 'cosineSimilarity' | 'maxAbsDiff' | 'top1Agreement'>;

/** A written int8 file, judged on the held-out sample. */
export interface Int8Export {
  tfliteBytes: number;
  int8Tensors: number;
  /** Operators left in float (floatFallback), by operator. */
  floatOperators: Record<string, number>;
  exportMs: number;
  /** Per output: the .tflite against the float model, and against the QDQ model it was made from. */
  vsFloat: Int8Fidelity[];
  vsQdq: Int8Fidelity[];
  /** Per output: largest |Δ| against the float model over its output's largest magnitude (at least 1). */
  relativeDiffs: Record<string, number>;
}

/** What the int8 columns record for one model: strict full-integer, and with floatFallback where that is refused. */
export interface Int8Row {
  /** Full-integer (no float operator): converts, or the op and node that stop it. */
  converts: boolean;
  refusal?: { opType: string; nodeName: string; reason: string };
  /** The strict file, or the floatFallback one where the strict export is refused (undefined if that is refused too). */
  exported?: Int8Export;
  fallbackRefusal?: { opType: string; nodeName: string; reason: string };
}

const fidelity = (f: Fidelity): Int8Fidelity => ({
  output: f.output,
  sqnrDb: f.sqnrDb,
  cosineSimilarity: f.cosineSimilarity,
  maxAbsDiff: f.maxAbsDiff,
  ...(f.top1Agreement === undefined ? {} : { top1Agreement: f.top1Agreement }),
});

/** The calibrated QDQ model of `model` (its `specialize` inputs frozen, `shapes` fixed), as `edgeml export --quantize int8` makes it. */
export async function quantizeForTflite(
  model: Model,
  samples: Sample[],
  shapes: Record<string, number[]>,
  specialize: Record<string, Tensor> | undefined,
): Promise<Model> {
  const work = model.clone();
  if (specialize) freezeInputs(work, specialize);
  fixInputShapes(work, shapes);
  const { model: qdq } = await quantize(work, {
    mode: 'static',
    calibrationData: samples,
    backend: new NodeBackend(),
    activationType: 'int8',
    activationSymmetric: false,
    weightType: 'int8',
    perChannel: true,
    opTypes: TFLITE_STATIC_OPS,
  });
  return qdq;
}

const refusalOf = (e: unknown) => {
  if (!(e instanceof UnsupportedOpError)) throw e;
  return { opType: e.opType, nodeName: e.nodeName ?? '', reason: e.message };
};

/**
 * Quantize `model` (its inputs in `specialize` fixed, the others at `shapes`) on the samples after
 * the held-out one, export it full-integer, else with floatFallback, and judge the file on the
 * held-out sample. An UnsupportedOpError (the op and node that stop it) is recorded, any other error thrown.
 */
export async function int8Row(
  model: Model,
  samples: Sample[],
  shapes: Record<string, number[]>,
  specialize: Record<string, Tensor> | undefined,
): Promise<Int8Row> {
  const free = (s: Sample) => Object.fromEntries(Object.entries(s).filter(([name]) => !specialize?.[name]));
  const started = performance.now();
  let refusal: Int8Row['refusal'];
  try {
    // As `edgeml export --quantize int8` runs: control flow refused before calibrating (not with --float-fallback).
    await checkFullIntegerControlFlow(model, { shapes, specialize });
  } catch (e) {
    refusal = refusalOf(e);
  }
  const qdq = await quantizeForTflite(model, samples.slice(1).map(free), shapes, specialize);
  let exported: Awaited<ReturnType<typeof exportTflite>> | undefined;
  if (!refusal)
    exported = await exportTflite(qdq, { quantize: 'int8', shapes }).catch((e: unknown) => {
      refusal = refusalOf(e);
      return undefined;
    });
  if (!exported)
    try {
      exported = await exportTflite(qdq, { quantize: 'int8', shapes, floatFallback: true });
    } catch (again) {
      return { converts: false, refusal, fallbackRefusal: refusalOf(again) };
    }
  const exportMs = Math.round(performance.now() - started);
  const { bytes, report } = exported;
  const [float, reference, got] = [
    await onOnnxruntime(model, samples[0]),
    await onOnnxruntime(qdq, free(samples[0])),
    await onTflite(bytes, free(samples[0])),
  ];
  return {
    converts: !refusal,
    refusal,
    exported: {
      tfliteBytes: bytes.byteLength,
      int8Tensors: report.int8Tensors,
      floatOperators: report.floatOperators,
      exportMs,
      vsFloat: measureFidelity([float], [got]).map(fidelity),
      vsQdq: measureFidelity([reference], [got]).map(fidelity),
      relativeDiffs: relativeDiffs(float, got),
    },
  };
}
