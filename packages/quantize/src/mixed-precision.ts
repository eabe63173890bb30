/**
 * Mixed precision for static quantization: the accuracy budget, the SQNR floor and the
 * sensitivity report. Layers leave int8 (back to float, or to 16-bit activations) in order of
 * what they cost per share of output noise they remove, until the budget is met; the search
 * reuses the calibrated ranges and measures every step on the samples.
 */
import { InvalidArgumentError, type Tensor } from '@edgeml/core';
import type { CalibrationData } from './calibrate.js';
import { VariantContext, type LayerPrecision } from './layer-variant.js';
import type { AccuracyBudget, QuantizeOptions, QuantizeResult, StaticModeOptions } from './quantize.js';
import type { QuantizationScheme } from './schemes.js';
import { searchActivationRuns } from './activation-runs.js';
import { searchRanges } from './range-search.js';
import { elementsOf, measureSensitivity, validateSensitivityOptions, type LayerSensitivity } from './sensitivity.js';

/** One layer the search took out of int8, and why. */
export interface MixedPrecisionLayer {
  layer: string;
  opType: string;
  nodes: string[];
  precision: LayerPrecision;
  /**
   * For a run of activations widened together (opType `activations`, found by the run search
   * when no layer alone was enough): the activations, in graph order.
   */
  activations?: string[];
  /** Output SQNR gained by this layer alone (its sensitivity). */
  gainDb: number;
  /**
   * Output SQNR measured once this layer and every one before it had left int8; absent where
   * the noise shares still put the target out of reach and the search went on without a run.
   */
  sqnrDbAfter?: number;
  /** What it gives up, in the budget's `cost` unit: speed (MACs and boundary elements) or bytes. */
  cost: number;
}

/** A run search that did not meet the budget: what it measured (`QuantizeResult.runSearch`). */
export interface MixedPrecisionRunSearch {
  met: false;
  /** The runs of activations its best variant widened to int16 (none when no run improved on the base). */
  runs: string[][];
  /** Output SQNR of its best variant (the base's when none improved). */
  sqnrDb: number;
  /** Variants it built and measured. */
  measured: number;
}

/** Something the caller should know about the written model (the CLI prints each on stderr). */
export interface QuantizeWarning {
  /** `sqnr-below-floor`: the output SQNR is under `QuantizeCommonOptions.sqnrFloorDb`. */
  code: 'sqnr-below-floor';
  message: string;
  floorDb: number;
  sqnrDb: number;
  /** The budget that meets the floor (what the search ran): pass it as `accuracyBudget`. */
  setting: { minSqnrDb: number };
  /** The layers that budget takes out of int8, in order, and the SQNR it measured. */
  layers: MixedPrecisionLayer[];
  reachedSqnrDb: number;
  /** Whether the search met the floor within its bounds (else `layers` is the closest it got). */
  met: boolean;
}

/** The default SQNR floor (dB) static quantization warns under. */
export const DEFAULT_SQNR_FLOOR_DB = 20;

const COSTS: readonly string[] = ['speed', 'size'];

/** Budget and sensitivity checks (quantize() runs them with its own). */
export function validateMixedPrecision(options: QuantizeOptions): void {
  const budget = options.accuracyBudget;
  if (budget) {
    validateSensitivityOptions(budget, 'accuracyBudget');
    if (budget.cost !== undefined && !COSTS.includes(budget.cost))
      throw new InvalidArgumentError(
        `accuracyBudget.cost is speed or size; got '${budget.cost as string}'`,
        'accuracyBudget.cost',
      );
    const max = budget.maxFallbackNodes;
    if (max !== undefined && !(Number.isInteger(max) && max >= 0))
      throw new InvalidArgumentError(
        `accuracyBudget.maxFallbackNodes must be a whole number; got ${max}`,
        'accuracyBudget.maxFallbackNodes',
      );
  }
  const { sensitivity, sqnrFloorDb: floor } = options;
  if (sensitivity && (options.mode !== 'static' || !options.evaluationData || !options.backend))
    throw new InvalidArgumentError(
      'sensitivity is measured in static mode, on evaluationData with a backend',
      'sensitivity',
    );
  if (typeof sensitivity === 'object') validateSensitivityOptions(sensitivity, 'sensitivity');
  if (mixedPrecisionOpset(options) && (options as { format?: string }).format === 'qoperator')
    throw new InvalidArgumentError(
      'int16 layers are QDQ only (QOperator kernels take one quantized type throughout): drop int16 from precisions or use format qdq',
      budget?.precisions?.includes('int16') ? 'accuracyBudget.precisions' : 'sensitivity.precisions',
    );
  if (floor !== undefined && floor !== false && !Number.isFinite(floor))
    throw new InvalidArgumentError(`sqnrFloorDb must be a number of dB or false; got ${floor}`, 'sqnrFloorDb');
}

/** Opset the requested precisions need: int16 activations are QuantizeLinear opset 21. */
export function mixedPrecisionOpset(options: QuantizeOptions): number | undefined {
  const sensitivity = typeof options.sensitivity === 'object' ? options.sensitivity : undefined;
  const asked = [...(options.accuracyBudget?.precisions ?? []), ...(sensitivity?.precisions ?? [])];
  return asked.includes('int16') ? 21 : undefined;
}

/**
 * After an evaluated static quantization: with `method: 'auto'`, choose each tensor's calibration
 * method by the output SQNR (see {@link searchRanges}); then meet the accuracy budget, measure the sensitivity
 * asked for, or (with neither) check the SQNR floor and, under it, search for the budget that
 * would meet it. Returns the result to hand back (a variant when the budget changed layers).
 */
export async function refineStatic(
  result: QuantizeResult,
  floatModel: QuantizeResult['model'],
  options: StaticModeOptions,
  scheme: QuantizationScheme<never>,
  data: CalibrationData,
  reference?: readonly Record<string, Tensor>[],
): Promise<QuantizeResult> {
  const { accuracyBudget: budget, sensitivity } = options;
  let context: VariantContext | undefined;
  if (options.method === 'auto' && options.rangeSearch !== false && rereadable(data)) {
    // The calibration method per tensor is chosen by the output first: every later step starts from it.
    const searched = await VariantContext.create(floatModel, result, options, scheme, data, reference);
    result = await searchRanges(searched, typeof options.rangeSearch === 'object' ? options.rangeSearch : {});
    context = searched.rebased(result);
  }
  const floor = options.sqnrFloorDb === false ? undefined : (options.sqnrFloorDb ?? DEFAULT_SQNR_FLOOR_DB);
  const underFloor = !budget && floor !== undefined && (result.sqnrDb ?? Infinity) < floor;
  if (!budget && !sensitivity && !underFloor) return result;
  if (underFloor && !budget && !sensitivity && !rereadable(data)) {
    // A one-shot iterator has been read: the search cannot run, but the floor is still reported.
    result.warnings = [floorWarning(result.sqnrDb!, floor, undefined)];
    return result;
  }
  context ??= await VariantContext.create(floatModel, result, options, scheme, data, reference);
  const asked = typeof sensitivity === 'object' ? sensitivity : {};
  const measured = sensitivity ? await measureSensitivity(context, asked) : undefined;
  if (budget) return meetBudget(context, budget, measured);
  if (underFloor) {
    // Bounded: this runs on every quantization under the floor, asked for or not.
    const bounds = { maxCandidates: 12, maxFallbackNodes: 8 };
    const search = await meetBudget(context, { minSqnrDb: floor, precisions: asked.precisions, ...bounds }, measured);
    result.warnings = [floorWarning(result.sqnrDb!, floor, search)];
    result.sensitivity = search.sensitivity;
    return result;
  }
  result.sensitivity = measured;
  return result;
}

/**
 * The candidate each layer offers (its cheapest precision per share of noise removed), cheapest
 * first. Layers that gain nothing measurable in SQNR follow, most gain first, only for a user
 * metric: what it scores (top-1 on labels) can move where the output SQNR does not.
 */
function cheapestFirst(
  sensitivity: readonly LayerSensitivity[],
  cost: 'speed' | 'size',
  withMetric: boolean,
): LayerSensitivity[] {
  const costOf = (s: LayerSensitivity) => (cost === 'size' ? s.sizeCost : s.speedCost);
  const perShare = (s: LayerSensitivity) => (costOf(s) + 1) / s.noiseShare;
  const best = new Map<string, LayerSensitivity>();
  const flat = new Map<string, LayerSensitivity>();
  for (const s of sensitivity) {
    // Under 0.1 dB alone (2 % of the noise) a layer is not a lever: taking it costs a search step.
    const pool = s.gainDb < 0.1 ? flat : best;
    const held = pool.get(s.layer);
    if (!held || (pool === best ? perShare(s) < perShare(held) : s.gainDb > held.gainDb)) pool.set(s.layer, s);
  }
  const levers = [...best.values()].sort((a, b) => perShare(a) - perShare(b));
  if (!withMetric) return levers;
  const rest = [...flat.values()].filter((s) => !best.has(s.layer)).sort((a, b) => b.gainDb - a.gainDb);
  return [...levers, ...rest];
}

/**
 * Layers leave int8 cheapest first (cost per noise share, from their measured sensitivity)
 * until the budget is met or `maxFallbackNodes` layers have. A step is measured whenever the
 * noise shares say the target may be met (every step for a user metric); the result is the
 * last variant built, fully evaluated. `quantize()` runs it for `accuracyBudget`.
 *
 * @example
 * ```ts
 * const r = await meetBudget(context, { minSqnrDb: 30, precisions: ['float', 'int16'], cost: 'size' });
 * console.log(r.budgetMet, r.mixedPrecision?.map((l) => `${l.layer}: ${l.precision}`));
 * ```
 */
export async function meetBudget(
  context: VariantContext,
  budget: AccuracyBudget,
  measured?: LayerSensitivity[],
): Promise<QuantizeResult> {
  const met = async (r: QuantizeResult, sqnrDb: number) => {
    if (budget.metric) r.metric ??= await budget.metric(r.model);
    return (
      (budget.minSqnrDb === undefined || sqnrDb >= budget.minSqnrDb) &&
      (r.metric === undefined || r.metric >= budget.minMetric!)
    );
  };
  const base = context.base;
  if (await met(base, base.sqnrDb ?? Infinity))
    return { ...base, fallbackNodes: [], mixedPrecision: [], budgetMet: true, sensitivity: measured };
  const maxLayers = budget.maxFallbackNodes ?? 10;
  // No layers to take: the single-layer measurements would go unused (the run search still runs).
  const sensitivity =
    measured ??
    (maxLayers === 0
      ? []
      : await measureSensitivity(context, {
          maxCandidates: budget.maxCandidates ?? Math.max(24, 2 * maxLayers),
          precisions: budget.precisions,
        }));
  const spec: { floatNodes: string[]; int16Activations: string[] } = { floatNodes: [], int16Activations: [] };
  const layers: MixedPrecisionLayer[] = [];
  let current: QuantizeResult | undefined;
  let ok = false;
  // Layers are not independent: a step can lower the SQNR. Short of the target, the best
  // measured step is handed back (with the layers up to it), not the last.
  let best = {
    result: undefined as QuantizeResult | undefined,
    sqnrDb: base.sqnrDb ?? -Infinity,
    layers: 0,
    floats: 0,
  };
  const queue = cheapestFirst(sensitivity, budget.cost ?? 'speed', !!budget.metric).slice(0, maxLayers);
  let removedShare = 0;
  for (const [i, candidate] of queue.entries()) {
    addTo(spec, candidate);
    const layer: MixedPrecisionLayer = {
      layer: candidate.layer,
      opType: candidate.opType,
      nodes: candidate.nodes,
      precision: candidate.precision,
      gainDb: candidate.gainDb,
      cost: budget.cost === 'size' ? candidate.sizeCost : candidate.speedCost,
    };
    layers.push(layer);
    // Shares of independent noise add: while they say the target is still out of reach, take the
    // next layer without a run (a user metric is measured every step: shares do not predict it).
    removedShare += candidate.noiseShare;
    const predicted = (base.sqnrDb ?? 0) - 10 * Math.log10(Math.max(1e-3, 1 - removedShare));
    if (!budget.metric && predicted < (budget.minSqnrDb ?? -Infinity) && i < queue.length - 1) continue;
    current = await context.build(spec);
    layer.sqnrDbAfter = await context.outputSqnr(current.model);
    if ((ok = await met(current, layer.sqnrDbAfter))) break;
    if (layer.sqnrDbAfter > best.sqnrDb)
      best = { result: current, sqnrDb: layer.sqnrDbAfter, layers: layers.length, floats: spec.floatNodes.length };
  }
  let runSearch: MixedPrecisionRunSearch | undefined;
  if (!ok && budget.precisions?.includes('int16') && budget.runSearch !== false) {
    const byRuns = await meetByRuns(context, budget, met, sensitivity);
    if ('model' in byRuns) return byRuns;
    runSearch = byRuns;
  }
  const keepBest = !ok && !budget.metric && current && layers.length > best.layers;
  const chosen = keepBest ? best.result : current;
  const final = chosen ? await context.evaluate(chosen) : { ...base };
  return Object.assign(final, {
    fallbackNodes: spec.floatNodes.slice(0, keepBest ? best.floats : undefined),
    mixedPrecision: layers.slice(0, keepBest ? best.layers : undefined),
    budgetMet: ok,
    sensitivity,
    ...(runSearch && { runSearch }),
  });
}

/**
 * The run search (activation-runs.ts), from the base quantization: runs of elementwise
 * activations widened to int16 together. Returns the evaluated variant when it meets the budget,
 * else what it tried.
 */
async function meetByRuns(
  context: VariantContext,
  budget: AccuracyBudget,
  met: (r: QuantizeResult, sqnrDb: number) => Promise<boolean>,
  sensitivity: LayerSensitivity[],
): Promise<QuantizeResult | MixedPrecisionRunSearch> {
  const search = await searchActivationRuns(context, {
    score: async (r, sqnrDb) => (budget.metric ? (r.metric ??= await budget.metric(r.model)) : sqnrDb),
    met,
  });
  if (!search.met || !search.result)
    return { met: false, runs: search.runs, sqnrDb: search.sqnrDb, measured: search.measured };
  const final = await context.evaluate(search.result);
  const shaped = await context.shaped();
  const elements = (names: readonly string[]) => {
    const wanted = new Set(names);
    let sum = 0;
    for (const n of shaped.graph) for (const v of n.outputs) if (wanted.has(v.name)) sum += elementsOf(v);
    return sum;
  };
  const sizeGrowth = Math.max(0, final.sizeAfter - context.base.sizeAfter);
  const layers = search.runs.map((run): MixedPrecisionLayer => ({
    layer: `${run[0]} … ${run[run.length - 1]}`,
    opType: 'activations',
    nodes: [],
    precision: 'int16',
    activations: run,
    gainDb: search.sqnrDb - (context.base.sqnrDb ?? search.sqnrDb),
    sqnrDbAfter: search.sqnrDb,
    // int16 activations convert at each widened op's input and output: their elements are the speed cost.
    cost: budget.cost === 'size' ? sizeGrowth / search.runs.length : 2 * elements(run),
  }));
  return Object.assign(final, { fallbackNodes: [], mixedPrecision: layers, budgetMet: true, sensitivity });
}

function addTo(spec: { floatNodes: string[]; int16Activations: string[] }, s: LayerSensitivity): void {
  if (s.precision === 'float') spec.floatNodes.push(...s.nodes);
  else spec.int16Activations.push(...s.activations.filter((a) => !spec.int16Activations.includes(a)));
}

/** Whether `data` can be read again (an array, or an iterable that is not its own one-shot iterator). */
function rereadable(data: CalibrationData): boolean {
  if (Array.isArray(data)) return true;
  const sync = (data as Partial<Iterable<unknown>>)[Symbol.iterator];
  if (sync) return sync.call(data) !== (data as unknown);
  const async = (data as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator];
  return !!async && async.call(data) !== (data as unknown);
}

function floorWarning(sqnrDb: number, floorDb: number, search: QuantizeResult | undefined): QuantizeWarning {
  const layers = search?.mixedPrecision ?? [];
  const reached = layers.at(-1)?.sqnrDbAfter ?? sqnrDb;
  const met = !!search?.budgetMet;
  const which = layers.map((l) => `${l.layer} (${l.precision})`).join(', ');
  const outcome = met
    ? `accuracyBudget { minSqnrDb: ${floorDb} } meets it by keeping ${layers.length} layer(s) out of int8: ${which}, reaching ${reached.toFixed(1)} dB`
    : layers.length
      ? `the closest accuracyBudget { minSqnrDb: ${floorDb} } got within its bounds keeps ${layers.length} layer(s) out of int8: ${which}, reaching ${reached.toFixed(1)} dB`
      : search
        ? 'no single layer measurably raises it; try another calibration method or more calibration samples'
        : `pass evaluation data as an array so the search for the accuracyBudget { minSqnrDb: ${floorDb} } that meets it can run`;
  const runs = search?.runSearch;
  const tried = runs
    ? `; the search for runs of activations to widen to int16 together, also tried, measured ${runs.measured} variant(s) and reached ${runs.sqnrDb.toFixed(1)} dB`
    : '';
  return {
    code: 'sqnr-below-floor',
    message: `output SQNR ${sqnrDb.toFixed(1)} dB is under the ${floorDb} dB floor; ${outcome}${tried}`,
    floorDb,
    sqnrDb,
    setting: { minSqnrDb: floorDb },
    layers,
    reachedSqnrDb: reached,
    met,
  };
}
