/**
 * One entry point for every mode: copies the model (the input is never modified),
 * pre-processes it, quantizes, and measures what changed.
 */
import {
  InvalidArgumentError, PassManager, batchNormFolding, constantFolding, deadCodeElimination, decodeModel, encodeModel,
  identityElimination, shapeInference, type Backend, type Model, type Tensor,
} from '@edgeml/core';
import type { CalibrationData, CalibrationSample } from './calibrate.js';
import { quantizeDynamic, type DynamicQuantizeOptions } from './dynamic.js';
import { convertToFloat16, type Float16Options } from './float16.js';
import { quantizeInt4, type Int4Options } from './int4.js';
import type { NodeOutcome } from './select.js';
import { quantizeStatic, type StaticQuantizeOptions } from './static-qdq.js';

export type QuantizeMode = 'dynamic' | 'static' | 'int4' | 'fp16';

export type QuantizeOptions =
  | ({ mode: 'dynamic' } & DynamicQuantizeOptions & QuantizeCommonOptions)
  | ({ mode: 'static' } & StaticQuantizeOptions & QuantizeCommonOptions)
  | ({ mode: 'int4' } & Int4Options & QuantizeCommonOptions)
  | ({ mode: 'fp16' } & Float16Options & QuantizeCommonOptions);

/** Options every mode takes. */
export interface QuantizeCommonOptions {
  /** Shape inference, constant folding, BatchNorm folding and identity removal first (default true). */
  preprocess?: boolean;
  /** Compare float and quantized outputs on these samples (static mode uses its calibration data when this is absent). */
  evaluationData?: CalibrationData;
  /** Runs the evaluation and the target check (static mode needs it anyway). */
  backend?: Backend;
}

/** Float-vs-quantized agreement of one model output. */
export interface OutputError {
  name: string;
  /** Signal-to-quantization-noise ratio, 10·log10(Σx² / Σ(x−y)²), over all evaluation samples. */
  sqnrDb: number;
  maxAbsError: number;
}

export interface QuantizeResult {
  model: Model;
  mode: QuantizeMode;
  sizeBefore: number;
  sizeAfter: number;
  quantizedNodes: NodeOutcome[];
  skippedNodes: NodeOutcome[];
  /** Per output, when evaluation data and a backend were given. */
  outputErrors?: OutputError[];
  /** Lowest output SQNR, for budgets and the CLI's sqnrDb. */
  sqnrDb?: number;
}

const floatTensorOf = (t: Tensor) => t.dtype === 'float32' || t.dtype === 'float16';

/** SQNR and max error of every float output, float model against quantized, on the same samples. */
export async function compareOutputs(floatModel: Model, quantModel: Model, data: CalibrationData, backend: Backend): Promise<OutputError[]> {
  const a = await backend.createSession(floatModel);
  const b = await backend.createSession(quantModel);
  const acc = new Map<string, { signal: number; noise: number; max: number }>();
  try {
    for await (const sample of data as AsyncIterable<CalibrationSample>) {
      const [x, y] = [await a.run(sample), await b.run(sample)];
      for (const [name, t] of Object.entries(x)) {
        if (!floatTensorOf(t) || !y[name]) continue;
        const u = t.toFloat64(), v = y[name].toFloat64();
        const e = acc.get(name) ?? { signal: 0, noise: 0, max: 0 };
        for (let i = 0; i < u.length; i++) { const d = u[i] - v[i]; e.signal += u[i] * u[i]; e.noise += d * d; e.max = Math.max(e.max, Math.abs(d)); }
        acc.set(name, e);
      }
    }
  } finally {
    await a.dispose();
    await b.dispose();
  }
  return [...acc].map(([name, e]) => ({ name, sqnrDb: e.noise === 0 ? Infinity : 10 * Math.log10(e.signal / e.noise), maxAbsError: e.max }));
}

/**
 * Quantize a copy of `model` in the chosen mode and report sizes, every node quantized or
 * skipped (with the reason), and output agreement when evaluation data is given.
 *
 * @example
 * ```ts
 * const r = await quantize(model, { mode: 'static', calibrationData: samples, backend: new NodeBackend(), perChannel: true });
 * console.log(r.sizeBefore / r.sizeAfter, r.sqnrDb, r.skippedNodes);
 * ```
 */
export async function quantize(model: Model, options: QuantizeOptions): Promise<QuantizeResult> {
  const before = encodeModel(model);
  const hasFloatWeights = [...model.graphs()].some((g) => [...g.initializers.values()].some((v) => v.const?.dtype === 'float32'));
  if (!hasFloatWeights) throw new InvalidArgumentError('the model has no float32 weights: there is nothing to quantize', 'model');
  const work = decodeModel(before);
  const original = decodeModel(before);
  if (options.preprocess ?? true) {
    await new PassManager([shapeInference({ strict: false }), constantFolding(), batchNormFolding(), identityElimination(), deadCodeElimination()], { fixedPoint: true }).run(work);
  }
  let quantized: NodeOutcome[] = [], skipped: NodeOutcome[] = [];
  switch (options.mode) {
    case 'dynamic': ({ quantized, skipped } = quantizeDynamic(work, options)); break;
    case 'static': ({ quantized, skipped } = await quantizeStatic(work, options)); break;
    case 'int4': ({ quantized, skipped } = quantizeInt4(work, options)); break;
    case 'fp16': {
      const r = convertToFloat16(work, options);
      skipped = r.kept;
      const kept = new Set(r.kept.map((k) => `${k.opType}/${k.name}`));
      quantized = [...work.graphs()].flatMap((g) => [...g]).filter((n) => !kept.has(`${n.opType}/${n.name}`)).map((n) => ({ name: n.name, opType: n.opType }));
      break;
    }
    default: throw new InvalidArgumentError(`unknown mode '${(options as { mode: string }).mode}'; use dynamic, static, int4 or fp16`, 'mode');
  }
  const after = encodeModel(work);
  const result: QuantizeResult = { model: work, mode: options.mode, sizeBefore: before.byteLength, sizeAfter: after.byteLength, quantizedNodes: quantized, skippedNodes: skipped };
  const evaluation = options.evaluationData;
  if (evaluation && options.backend) {
    result.outputErrors = await compareOutputs(original, work, evaluation, options.backend);
    result.sqnrDb = Math.min(...result.outputErrors.map((e) => e.sqnrDb));
  }
  return result;
}
