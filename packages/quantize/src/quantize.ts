/**
 * One entry point for every mode: copies the model (the input is never modified),
 * pre-processes it, quantizes, and measures what changed.
 */
import {
  FidelityAccumulator,
  InvalidArgumentError,
  PassManager,
  batchNormFolding,
  constantFolding,
  deadCodeElimination,
  encodedSize,
  exposeOutputs,
  identityElimination,
  shapeInference,
  type Backend,
  type Model,
  type Node,
  type Tensor,
} from '@edgeml/core';
import type { CalibrationData, CalibrationSample, TensorRange } from './calibrate.js';
import { quantizeDynamic, type DynamicQuantizeOptions } from './dynamic.js';
import { convertToFloat16, type Float16Options } from './float16.js';
import { quantizeInt4, type Int4Options } from './int4.js';
import type { NodeOutcome } from './select.js';
import { quantizeStatic, type StaticQuantizeOptions } from './static-qdq.js';
import { checkTarget, type TargetCheckResult } from './target-check.js';

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
  /**
   * Static mode: keep the layers that add the most error in float until the budget is met
   * (at most `maxFallbackNodes`, default 10): every output's SQNR on `evaluationData` reaches
   * `minSqnrDb`, and/or your own metric of the quantized model (accuracy on a labelled set,
   * say) reaches `minMetric`. Layers are ranked by the SQNR they lose either way.
   */
  accuracyBudget?: AccuracyBudget;
  /**
   * The runtime that will serve the model (e.g. `new WebBackend()` for wasm): the result is
   * loaded there and `QuantizeResult.target` says whether it loads and which ops it cannot run.
   */
  target?: Backend;
}

/** When a static quantization is good enough (see `QuantizeCommonOptions.accuracyBudget`). */
export interface AccuracyBudget {
  minSqnrDb?: number;
  /** Your score of a candidate model, higher is better (e.g. top-1 accuracy on held-out data). */
  metric?: (model: Model) => number | Promise<number>;
  minMetric?: number;
  maxFallbackNodes?: number;
}

/** Float-vs-quantized agreement of one model output. */
export interface OutputError {
  name: string;
  /** Signal-to-quantization-noise ratio, 10·log10(Σx² / Σ(x−y)²), over all evaluation samples. */
  sqnrDb: number;
  maxAbsError: number;
  cosineSimilarity: number;
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
  /** Static mode with evaluation data: SQNR of every quantized activation against the float model. */
  tensorErrors?: OutputError[];
  /** Static mode: calibrated range of every quantized activation. */
  ranges?: Record<string, TensorRange>;
  /** Static mode: activation name → the value holding its dequantized form in the quantized model. */
  dequantizedNames?: Record<string, string>;
  /** Nodes put back in float to meet `accuracyBudget`, in the order they were. */
  fallbackNodes?: string[];
  /** Whether the accuracy budget was met (when one was given). */
  budgetMet?: boolean;
  /** The user metric of the returned model, when the budget has one. */
  metric?: number;
  /** Whether the result loads in `options.target`, and every op it cannot run. */
  target?: TargetCheckResult;
}

const floatTensorOf = (t: Tensor) => t.dtype === 'float32' || t.dtype === 'float16';

const exposing = (model: Model, names: readonly string[]): Model => exposeOutputs(model, names).model;

/**
 * SQNR and max error, float model against quantized on the same samples: every float
 * output, plus the named intermediate tensors (present in both models).
 */
export async function compareOutputs(
  floatModel: Model,
  quantModel: Model,
  data: CalibrationData,
  backend: Backend,
  tensors: readonly string[] = [],
  quantNames: Record<string, string> = {},
): Promise<OutputError[]> {
  const a = await backend.createSession(tensors.length ? exposing(floatModel, tensors) : floatModel);
  const b = await backend.createSession(
    tensors.length
      ? exposing(
          quantModel,
          tensors.map((t) => quantNames[t] ?? t),
        )
      : quantModel,
  );
  const acc = new Map<string, FidelityAccumulator>();
  const outputNames = new Set(floatModel.graph.outputs.map((v) => v.name));
  try {
    for await (const sample of data as AsyncIterable<CalibrationSample>) {
      const [x, y] = [await a.run(sample), await b.run(sample)];
      for (const [name, t] of Object.entries(x)) {
        // Graph outputs compare by name; inner activations against what their readers see (the dequantized value).
        const other = y[outputNames.has(name) ? name : (quantNames[name] ?? name)];
        if (!floatTensorOf(t) || !other) continue;
        if (!acc.has(name)) acc.set(name, new FidelityAccumulator(name));
        acc.get(name)!.add(t, other);
      }
    }
  } finally {
    await a.dispose();
    await b.dispose();
  }
  return [...acc.values()].map((e) => {
    const f = e.result();
    return { name: f.output, sqnrDb: f.sqnrDb, maxAbsError: f.maxAbsDiff, cosineSimilarity: f.cosineSimilarity };
  });
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
  const sizeBefore = encodedSize(model);
  const hasFloatWeights = [...model.graphs()].some((g) =>
    [...g.initializers.values()].some((v) => v.const?.dtype === 'float32'),
  );
  if (!hasFloatWeights)
    throw new InvalidArgumentError('the model has no float32 weights: there is nothing to quantize', 'model');
  // The input is never modified, so it is the float reference itself; passes edit a clone.
  const work = model.clone();
  const original = model;
  if (options.preprocess ?? true) {
    await new PassManager(
      [
        shapeInference({ strict: false }),
        constantFolding(),
        batchNormFolding(),
        identityElimination(),
        deadCodeElimination(),
      ],
      { fixedPoint: true },
    ).run(work);
  }
  const preprocessed = work.clone();
  let quantized: NodeOutcome[], skipped: NodeOutcome[];
  let ranges: Record<string, TensorRange> | undefined;
  let dequantizedNames: Record<string, string> | undefined;
  switch (options.mode) {
    case 'dynamic':
      ({ quantized, skipped } = quantizeDynamic(work, options));
      break;
    case 'static':
      ({ quantized, skipped, ranges, dequantizedNames } = await quantizeStatic(work, options));
      break;
    case 'int4':
      ({ quantized, skipped } = quantizeInt4(work, options));
      break;
    case 'fp16': {
      const r = convertToFloat16(work, options);
      skipped = r.kept;
      const kept = new Set(r.kept.map((k) => `${k.opType}/${k.name}`));
      quantized = [...work.graphs()]
        .flatMap((g) => [...g])
        .filter((n) => !kept.has(`${n.opType}/${n.name}`))
        .map((n) => ({ name: n.name, opType: n.opType }));
      break;
    }
    default:
      throw new InvalidArgumentError(
        `unknown mode '${(options as { mode: string }).mode}'; use dynamic, static, int4 or fp16`,
        'mode',
      );
  }

  const result: QuantizeResult = {
    model: work,
    mode: options.mode,
    sizeBefore,
    sizeAfter: encodedSize(work),
    quantizedNodes: quantized,
    skippedNodes: skipped,
    ranges,
    dequantizedNames,
  };
  const evaluation = options.evaluationData;
  const budget = options.accuracyBudget;
  if (budget && (options.mode !== 'static' || !evaluation))
    throw new InvalidArgumentError('accuracyBudget works in static mode with evaluationData', 'accuracyBudget');
  if (budget && budget.minSqnrDb === undefined && !budget.metric)
    throw new InvalidArgumentError('accuracyBudget needs minSqnrDb, or a metric with minMetric', 'accuracyBudget');
  if (budget && !!budget.metric !== (budget.minMetric !== undefined))
    throw new InvalidArgumentError('accuracyBudget: give metric and minMetric together', 'accuracyBudget');
  if (
    evaluation &&
    options.accuracyBudget &&
    (evaluation as Iterable<unknown>)[Symbol.iterator]?.() === (evaluation as unknown)
  ) {
    throw new InvalidArgumentError(
      'with accuracyBudget the evaluation data is read several times: pass an array, not a one-shot iterator',
      'evaluationData',
    );
  }
  let final = result;
  if (evaluation && options.backend) {
    await evaluate(result, original, evaluation, options.backend);
    if (options.mode === 'static' && options.accuracyBudget)
      final = await fallBack(result, original, preprocessed, options, evaluation);
  }
  if (options.target && options.target === options.backend && evaluation)
    // The evaluation already ran the final model on this runtime: it loads, every op has a kernel.
    final.target = { runtime: options.target.name, loads: true, unsupportedOps: [] };
  else if (options.target) final.target = await checkTarget(final.model, options.target);
  return final;
}

async function evaluate(
  result: QuantizeResult,
  original: Model,
  data: CalibrationData,
  backend: Backend,
): Promise<void> {
  const outputs = new Set(original.graph.outputs.map((v) => v.name));
  const errors = await compareOutputs(
    original,
    result.model,
    data,
    backend,
    result.mode === 'static' ? Object.keys(result.ranges ?? {}) : [],
    result.dequantizedNames,
  );
  result.outputErrors = errors.filter((e) => outputs.has(e.name));
  if (result.mode === 'static') result.tensorErrors = errors;
  result.sqnrDb = Math.min(...result.outputErrors.map((e) => e.sqnrDb));
}

/** Greedy fallback: put back in float the node that adds the most noise, re-quantize with the same ranges, measure again. */
async function fallBack(
  result: QuantizeResult,
  original: Model,
  preprocessed: Model,
  options: QuantizeOptions & { mode: 'static' },
  data: CalibrationData,
): Promise<QuantizeResult> {
  const budget = options.accuracyBudget!;
  const fallback: string[] = [];
  let current = result;
  const met = async (r: QuantizeResult) => {
    if (budget.metric) r.metric = await budget.metric(r.model);
    return (
      (budget.minSqnrDb === undefined || (r.sqnrDb ?? Infinity) >= budget.minSqnrDb) &&
      (r.metric === undefined || r.metric >= budget.minMetric!)
    );
  };
  let ok = await met(current);
  while (!ok && fallback.length < (budget.maxFallbackNodes ?? 10)) {
    const sqnr = new Map((current.tensorErrors ?? []).map((e) => [e.name, e.sqnrDb]));
    const model = preprocessed.clone();
    let worst: { name: string; added: number } | undefined;
    for (const n of model.graph) {
      if (!current.quantizedNodes.some((q) => q.name === n.name && q.opType === n.opType) || !n.name) continue;
      const out = sqnr.get(n.outputs[0]?.name ?? '');
      if (out === undefined) continue;
      const ins = n.inputs.map((v) => (v ? sqnr.get(v.name) : undefined)).filter((x): x is number => x !== undefined);
      const added = (ins.length ? Math.min(...ins) : 100) - out;
      if (!worst || added > worst.added) worst = { name: n.name, added };
    }
    if (!worst) break;
    fallback.push(worst.name);
    const user = options.exclude;
    const exclude =
      typeof user === 'function'
        ? (n: Node) => user(n) || fallback.includes(n.name)
        : [...(user ?? []), ...fallback.map((f) => `node:${f}`)];
    const r = await quantizeStatic(model, {
      ...options,
      exclude,
      rangeOverrides: { ...options.rangeOverrides, ...result.ranges },
    });
    current = {
      ...result,
      model,
      quantizedNodes: r.quantized,
      skippedNodes: r.skipped,
      sizeAfter: encodedSize(model),
      ranges: r.ranges,
      dequantizedNames: r.dequantizedNames,
    };
    await evaluate(current, original, data, options.backend);
    ok = await met(current);
  }
  current.fallbackNodes = fallback;
  current.budgetMet = ok;
  return current;
}
