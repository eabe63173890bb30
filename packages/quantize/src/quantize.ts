/**
 * One entry point for every mode: looks the mode up in `quantizationSchemes`, copies the model
 * (the input is never modified), pre-processes it, runs the scheme's passes and measures what
 * changed.
 */
import {
  InvalidArgumentError,
  NotApplicableError,
  PassManager,
  batchNormFolding,
  constantFolding,
  deadCodeElimination,
  encodedSize,
  identityElimination,
  prepare,
  shapeInference,
  type Backend,
  type PreparedStep,
  type Model,
  type Tensor,
} from '@edgeml/core';
import type { CalibrationData, TensorRange } from './calibrate.js';
import type { DynamicQuantizeOptions } from './dynamic.js';
import { evaluate } from './evaluate.js';
import type { Float16Options } from './float16.js';
import type { Int4Options } from './int4.js';
import type { QatQuantizeOptions } from './qat.js';
import { refineFloatModel, type RefinementResults, type StaticRefinementOptions } from './refinements.js';
import type { LayerPrecision } from './layer-variant.js';
import {
  mixedPrecisionOpset,
  refineStatic,
  validateMixedPrecision,
  type MixedPrecisionLayer,
  type MixedPrecisionRunSearch,
  type QuantizeWarning,
} from './mixed-precision.js';
import { quantizationSchemes, runScheme } from './schemes.js';
import type { NodeOutcome } from './select.js';
import type { LayerSensitivity, SensitivityOptions } from './sensitivity.js';
import type { StaticQuantizeOptions } from './static-qdq.js';
import { withReduceRangeDefault } from './reduce-range.js';
import { checkTarget, type TargetCheckResult } from './target-check.js';
import { refuseUnknownOptions } from './option-names.js';

/** The built-in modes; `quantizationSchemes` may hold more. */
export type QuantizeMode = 'dynamic' | 'static' | 'qat' | 'int4' | 'fp16';

/** Options of the built-in static mode (what the accuracy budget re-runs). */
export type StaticModeOptions = { mode: 'static' } & StaticQuantizeOptions &
  StaticRefinementOptions &
  QuantizeCommonOptions;

export type QuantizeOptions =
  | ({ mode: 'dynamic' } & DynamicQuantizeOptions & QuantizeCommonOptions)
  | StaticModeOptions
  | ({ mode: 'int4' } & Int4Options & QuantizeCommonOptions)
  | ({ mode: 'fp16' } & Float16Options & QuantizeCommonOptions)
  | ({ mode: 'qat' } & QatQuantizeOptions & QuantizeCommonOptions)
  /** A mode registered with `quantizationSchemes`, with the options it takes. */
  | ({ mode: string } & QuantizeCommonOptions & Record<string, unknown>);

/** Options every mode takes. */
export interface QuantizeCommonOptions {
  /**
   * Inputs fixed to a value before quantizing (see `prepare`'s `specialize`): e.g. Silero VAD's
   * `sr` at 16000, so that the network inside its If on the sample rate becomes a plain graph
   * static calibration can observe. The input is gone from the result; samples may still hold it.
   */
  specialize?: Record<string, Tensor>;
  /** Shape inference, constant folding, BatchNorm folding and identity removal first (default true). */
  preprocess?: boolean;
  /** Compare float and quantized outputs on these samples (static mode uses its calibration data when this is absent). */
  evaluationData?: CalibrationData;
  /** Runs the evaluation and the target check (static mode needs it anyway). */
  backend?: Backend;
  /**
   * Static mode: take layers out of int8 (back to float, or to int16 activations) until the
   * budget is met (at most `maxFallbackNodes` layers, default 10): every output's SQNR on
   * `evaluationData` reaches `minSqnrDb`, and/or your own metric of the quantized model
   * (accuracy on a labelled set, say) reaches `minMetric`. Layers go cheapest first: by what
   * they cost (`cost`) per share of the output noise their measured sensitivity says they cause.
   */
  accuracyBudget?: AccuracyBudget;
  /**
   * Static mode with evaluation data: measure each layer's effect on output SQNR
   * (`QuantizeResult.sensitivity`); a budget, or an output under the floor, measures it anyway.
   */
  sensitivity?: boolean | SensitivityOptions;
  /**
   * Static mode with evaluation data: when the output SQNR ends under this many dB (default
   * 20), `QuantizeResult.warnings` says so and names the accuracy budget that would meet it,
   * found by running the mixed-precision search (the returned model stays all-int8). `false`
   * turns the check off. Ignored when `accuracyBudget` is given.
   */
  sqnrFloorDb?: number | false;
  /**
   * The runtime that will serve the model (e.g. `new WebBackend()` for wasm): the result is
   * loaded there and `QuantizeResult.target` says whether it loads and which ops it cannot run.
   */
  target?: Backend;
}

/** When a static quantization is good enough (see `QuantizeCommonOptions.accuracyBudget`). */
export interface AccuracyBudget extends SensitivityOptions {
  minSqnrDb?: number;
  /** Your score of a candidate model, higher is better (e.g. top-1 accuracy on held-out data). */
  metric?: (model: Model) => number | Promise<number>;
  minMetric?: number;
  /** Layers (blocks, see `layerBlocks`) taken out of int8 at most (default 10). */
  maxFallbackNodes?: number;
  /**
   * What a layer leaving int8 costs: `speed` (default: MACs leaving integer kernels and
   * elements converted at the float/int8 boundary) or `size` (bytes the model grows by). With
   * `precisions: ['float', 'int16']`, speed picks float (onnxruntime CPU has no int16 kernels)
   * and size picks int16 (its weights stay int8).
   */
  cost?: 'speed' | 'size';
  /**
   * With `precisions` including `int16`: when no set of single layers meets the budget, search
   * runs of elementwise activations to widen to int16 together (error that accumulates over a
   * stretch of the network, which no one layer shows). Default true; false skips it.
   */
  runSearch?: boolean;
}

export type { LayerPrecision };

/** Float-vs-quantized agreement of one model output. */
export interface OutputError {
  name: string;
  /** Signal-to-quantization-noise ratio, 10·log10(Σx² / Σ(x−y)²), over all evaluation samples. */
  sqnrDb: number;
  maxAbsError: number;
  cosineSimilarity: number;
}

export interface QuantizeResult extends RefinementResults {
  model: Model;
  mode: string;
  /** What was done to the input before quantizing (Constant nodes lifted, fp16 weights widened...). */
  prepared: PreparedStep[];
  sizeBefore: number;
  sizeAfter: number;
  quantizedNodes: NodeOutcome[];
  skippedNodes: NodeOutcome[];
  /** Per output, when evaluation data and a backend were given. */
  outputErrors?: OutputError[];
  /** Lowest output SQNR, for budgets and the CLI's sqnrDb. */
  sqnrDb?: number;
  /** Static mode with evaluation data: SQNR of every quantized activation against the float model. */
  tensorErrors?: OutputError[];
  /** Static mode: calibrated range of every quantized activation. */
  ranges?: Record<string, TensorRange>;
  /** Static mode: activation name → the value holding its dequantized form in the quantized model. */
  dequantizedNames?: Record<string, string>;
  /** Nodes put back in float to meet `accuracyBudget`, in the order they were. */
  fallbackNodes?: string[];
  /** Layers the accuracy budget took out of int8, in order, with the precision and the dB each gave. */
  mixedPrecision?: MixedPrecisionLayer[];
  /** Measured per-layer sensitivity, largest gain first (when asked, or when a budget or the floor needed it). */
  sensitivity?: LayerSensitivity[];
  /** What the caller should know about the result (e.g. an output SQNR under the floor, and the fix). */
  warnings?: QuantizeWarning[];
  /**
   * The run search of the accuracy budget (int16 runs of activations), when it ran and did not
   * meet the budget: what it measured. (When it meets it, `mixedPrecision` lists its runs.)
   */
  runSearch?: MixedPrecisionRunSearch;
  /** Whether the accuracy budget was met (when one was given). */
  budgetMet?: boolean;
  /** The user metric of the returned model, when the budget has one. */
  metric?: number;
  /** Whether the result loads in `options.target`, and every op it cannot run. */
  target?: TargetCheckResult;
  /** Mode qat: what the trainer reported (epochs, losses...). */
  training?: Record<string, unknown>;
  /**
   * Why the int8 weights were kept to 7 bits when the options did not say (`reduceRange`
   * left out and the serving runtime's kernels overflow on full-range weights on this CPU).
   */
  reducedRange?: string;
}

/**
 * Float outputs of the calibration run, kept as the reference of the error report when the
 * evaluation samples are the calibration samples, up to `budget` bytes: past that, holding them
 * would cost more than running the float model again, and they are dropped.
 */
class ReferenceOutputs {
  private kept: Record<string, Tensor>[] | undefined = [];
  private bytes = 0;
  constructor(private readonly budget: number) {}

  add(outputs: Record<string, Tensor>): void {
    if (!this.kept) return;
    for (const t of Object.values(outputs)) this.bytes += t.dtype === 'string' ? 0 : t.byteLength;
    if (this.bytes > this.budget) this.kept = undefined;
    else this.kept.push(outputs);
  }

  get outputs(): readonly Record<string, Tensor>[] | undefined {
    return this.kept?.length ? this.kept : undefined;
  }
}

/** The preparation every mode gets first (unless `preprocess: false`); BatchNorm folding unless the scheme folds. */
const PREPROCESS = (foldBatchNorms: boolean) => [
  shapeInference({ strict: false }),
  constantFolding(),
  ...(foldBatchNorms ? [batchNormFolding()] : []),
  identityElimination(),
  deadCodeElimination(),
];

function validateBudget(options: QuantizeOptions): void {
  const { accuracyBudget: budget, evaluationData: evaluation } = options;
  if (!budget) return;
  if (options.mode !== 'static' || !evaluation)
    throw new InvalidArgumentError('accuracyBudget works in static mode with evaluationData', 'accuracyBudget');
  if (budget.minSqnrDb === undefined && !budget.metric)
    throw new InvalidArgumentError('accuracyBudget needs minSqnrDb, or a metric with minMetric', 'accuracyBudget');
  if (!!budget.metric !== (budget.minMetric !== undefined))
    throw new InvalidArgumentError('accuracyBudget: give metric and minMetric together', 'accuracyBudget');
  if ((evaluation as Iterable<unknown>)[Symbol.iterator]?.() === (evaluation as unknown))
    throw new InvalidArgumentError(
      'with accuracyBudget the evaluation data is read several times: pass an array, not a one-shot iterator',
      'evaluationData',
    );
}

/**
 * Quantize a copy of `model` in the chosen mode (a scheme of `quantizationSchemes`) and report
 * sizes, every node quantized or skipped (with the reason), and output agreement when
 * evaluation data is given.
 *
 * @example
 * ```ts
 * const r = await quantize(model, { mode: 'static', calibrationData: samples, backend, perChannel: true });
 * console.log(r.sizeBefore / r.sizeAfter, r.sqnrDb, r.skippedNodes);
 * ```
 */
export async function quantize(model: Model, given: QuantizeOptions): Promise<QuantizeResult> {
  const { options: decided, reason: reducedRange } = withReduceRangeDefault(given);
  let options: QuantizeOptions = decided;
  const scheme = quantizationSchemes.get(options.mode);
  if (scheme.optionNames) refuseUnknownOptions(given as Record<string, unknown>, scheme.optionNames);
  scheme.validate(options as never);
  validateBudget(options);
  validateMixedPrecision(options);
  if (options.mode !== 'fp16') refuseRequantization(model, options.mode);
  // Weights stored as Constant nodes or as half-precision initializers behind a Cast are weights too.
  const needs = scheme.needs?.(options as never);
  const mixedOpset = mixedPrecisionOpset(options);
  const { model: ready, prepared } = prepare(model, {
    foldWeightCasts: true,
    specialize: options.specialize,
    ...needs,
    ...(mixedOpset && { minOpset: Math.max(needs?.minOpset ?? 0, mixedOpset) }),
  });
  if (options.specialize) options = withoutInputs(options, Object.keys(options.specialize));
  const hasFloatWeights = [...ready.graphs()].some((g) =>
    [...g.initializers.values()].some((v) => v.const?.dtype === 'float32'),
  );
  if (!hasFloatWeights)
    throw new NotApplicableError(
      'the model has no float32 weights (initializers, Constant nodes or float16 weights behind a Cast): there is nothing to quantize',
      `quantize ${options.mode}`,
    );
  // The input is never modified, so it is the float reference itself; passes edit a clone.
  const work = ready === model ? model.clone() : ready;
  if (options.preprocess ?? true)
    await new PassManager(PREPROCESS(!scheme.foldsBatchNorms), { fixedPoint: true }).run(work);
  // Equalization and smoothing change no output, so the rescaled model is the float reference too
  // (its inner tensors are the ones the quantized model approximates).
  const refined = options.mode === 'static' ? await refineFloatModel(work, options as StaticModeOptions) : {};
  // The float reference of the error report is the prepared model, not the input: preparation
  // renames nothing but can change what a name holds (a Conv output with its BatchNorm folded
  // in), and per-tensor errors must compare the same tensor. A clone shares every weight.
  const preprocessed = work.clone();
  const sameSamples =
    options.mode === 'static' &&
    Array.isArray(options.evaluationData) &&
    options.evaluationData === options.calibrationData;
  // Up to the model's size (what a second float session would cost), and at least 64 MiB.
  const sizeBefore = encodedSize(model);
  const reference = sameSamples ? new ReferenceOutputs(Math.max(sizeBefore, 64 * 2 ** 20)) : undefined;
  const keepOutputs = reference && {
    extra: work.graph.outputs.map((v) => v.name),
    onOutputs: (o: Record<string, Tensor>) => reference.add(o),
  };
  const record = await runScheme(work, scheme, keepOutputs ? { ...options, keepOutputs } : options);
  if (!record.quantized.length) throw notApplicable(work, options.mode, record.skipped);
  const result: QuantizeResult = {
    model: work,
    mode: options.mode,
    prepared,
    sizeBefore,
    sizeAfter: encodedSize(work),
    quantizedNodes: record.quantized,
    skippedNodes: record.skipped,
    ranges: record.ranges,
    dequantizedNames: record.dequantizedNames,
    ...refined,
    ...(record.biasCorrection && { biasCorrection: record.biasCorrection }),
    ...(record.training && { training: record.training }),
    ...(reducedRange && { reducedRange }),
  };
  const evaluation = options.evaluationData;
  let final = result;
  if (evaluation && options.backend) {
    await evaluate(result, preprocessed, evaluation, options.backend, reference?.outputs);
    if (options.mode === 'static')
      final = await refineStatic(
        result,
        preprocessed,
        options as StaticModeOptions,
        scheme,
        evaluation,
        reference?.outputs,
      );
  }
  if (options.target && options.target === options.backend && evaluation)
    // The evaluation already ran the final model on this runtime: it loads, every op has a kernel.
    final.target = { runtime: options.target.name, loads: true, unsupportedOps: [] };
  else if (options.target) final.target = await checkTarget(final.model, options.target);
  return final;
}

/** Op types each built-in mode quantizes, to name the mode that would apply when another does not. */
const MODE_FOR_OPS: [mode: string, ops: readonly string[]][] = [
  ['static', ['Conv', 'ConvTranspose', 'MatMul', 'Gemm']],
  ['dynamic', ['MatMul', 'Gemm', 'Gather', 'LSTM', 'GRU']],
  ['fp16', []],
];

/** The error for a mode that quantized no node: what it skipped, and a mode that would apply. */
function notApplicable(model: Model, mode: string, skipped: readonly { opType: string; reason?: string }[]) {
  const present = new Set<string>();
  for (const g of model.graphs()) for (const n of g) present.add(n.opType);
  const instead = MODE_FOR_OPS.find(
    ([m, ops]) => m !== mode && (!ops.length || ops.some((op) => present.has(op))),
  )?.[0];
  const reasons = [...new Set(skipped.map((s) => `${s.opType}: ${s.reason ?? 'skipped'}`))].slice(0, 3);
  const nested = mode === 'static' ? nestedWeightedNodes(model) : 0;
  const why = reasons.length
    ? `; skipped ${reasons.join('; ')}`
    : nested
      ? `; its ${nested} Conv/Gemm/MatMul nodes are inside If/Loop/Scan bodies, whose activations calibration cannot observe`
      : '; none of its nodes is of a kind this mode quantizes';
  return new NotApplicableError(
    `mode '${mode}' quantizes no node of this model${why}${instead ? `. Mode '${instead}' applies to it` : ''}`,
    `quantize ${mode}`,
    instead,
  );
}

/** Conv/Gemm/MatMul nodes inside subgraphs (spox and some PyTorch exports keep whole networks in If branches). */
function nestedWeightedNodes(model: Model): number {
  let n = 0;
  for (const g of model.graphs())
    if (g !== model.graph) for (const node of g) if (['Conv', 'Gemm', 'MatMul'].includes(node.opType)) n++;
  return n;
}

/** Samples without the inputs the model no longer has (fixed by `specialize`); one array stays one array. */
function withoutInputs(options: QuantizeOptions, names: readonly string[]): QuantizeOptions {
  const drop = (sample: Record<string, Tensor>) =>
    Object.fromEntries(Object.entries(sample).filter(([k]) => !names.includes(k)));
  // Arrays stay arrays (read several times); other iterables are mapped as they are read.
  const strip = (data: unknown): unknown => {
    if (data === undefined || data === null) return data;
    if (Array.isArray(data)) return (data as Record<string, Tensor>[]).map(drop);
    const it = data as Iterable<Record<string, Tensor>> & AsyncIterable<Record<string, Tensor>>;
    if (typeof it[Symbol.iterator] === 'function')
      return (function* () {
        for (const sample of it) yield drop(sample);
      })();
    if (typeof it[Symbol.asyncIterator] === 'function')
      return (async function* () {
        for await (const sample of it) yield drop(sample);
      })();
    return data;
  };
  const calibration = (options as { calibrationData?: unknown }).calibrationData;
  const evaluation = strip(options.evaluationData) as CalibrationData | undefined;
  const out = { ...options, evaluationData: evaluation } as QuantizeOptions & { calibrationData?: unknown };
  // The same samples for both stay the same array, so the calibration run's outputs are reused.
  if (calibration !== undefined)
    out.calibrationData = calibration === options.evaluationData ? evaluation : strip(calibration);
  return out;
}

/**
 * Ops that mean a model already computes in integers: quantized activations (QuantizeLinear,
 * DynamicQuantizeLinear) or integer kernels. Weight-only DequantizeLinear (an int8 embedding table
 * of an otherwise float model) is not among them: quantizers leave those weights alone, as they
 * are not float32 constants.
 */
const INTEGER_COMPUTE = new Set([
  'QuantizeLinear',
  'DynamicQuantizeLinear',
  'QLinearConv',
  'QLinearMatMul',
  'MatMulInteger',
  'ConvInteger',
  'MatMulNBits',
  'MatMulIntegerToFloat',
  'DynamicQuantizeMatMul',
  'DynamicQuantizeLSTM',
  'QGemm',
  'QLinearAdd',
  'QLinearMul',
  'QLinearConcat',
  'QLinearGlobalAveragePool',
  'QLinearSigmoid',
  'QLinearLeakyRelu',
  'QLinearSoftmax',
  'QAttention',
]);

/** An integer model quantized again gets every integer region wrapped twice: larger and slower. */
function refuseRequantization(model: Model, mode: string): void {
  const counts = new Map<string, number>();
  for (const g of model.graphs())
    for (const n of g) if (INTEGER_COMPUTE.has(n.opType)) counts.set(n.opType, (counts.get(n.opType) ?? 0) + 1);
  if (!counts.size) return;
  const found = [...counts].map(([op, n]) => `${op} ×${n}`).join(', ');
  throw new NotApplicableError(
    `the model is already quantized (${found}); quantizing it again would wrap its integer parts a second time, making it larger and slower. Quantize the float original instead`,
    `quantize ${mode}`,
  );
}
