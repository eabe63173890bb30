/**
 * Calibration method per tensor chosen by the output (`method: 'auto'` with evaluation data).
 * Each tensor's minmax, percentile and entropy ranges come from one calibration pass; which one
 * its own values prefer (calibrate-auto.ts) is a poor guide to which one the network prefers:
 * clipping error is systematic, and downstream layers amplify it where they average rounding
 * noise away. On PP-OCRv4 det over rendered pages the per-tensor choice gave 6.0 dB of output
 * SQNR where minmax everywhere gave 8.6. So the choice is made by the sensitivity measure, the
 * output SQNR on the samples: first the whole model with each method and with each tensor's own
 * choice (the best of those four is the start), then the tensors whose alternative range the
 * local measure favours most over the start's, one at a time, each kept only when it raises the
 * output SQNR. Every step reuses the calibrated ranges; nothing is calibrated again.
 */
import { InvalidArgumentError } from '@edgeml/core';
import type { CalibrationMethod, TensorRange } from './calibrate.js';
import type { VariantContext } from './layer-variant.js';
import type { QuantizeResult } from './quantize.js';

type Method = Exclude<CalibrationMethod, 'auto'>;
const METHODS: readonly Method[] = ['minmax', 'percentile', 'entropy'];

/** How far the search goes (`rangeSearch` of static mode). */
export interface RangeSearchOptions {
  /**
   * Tensors tried one at a time after the whole-model comparison (those whose other range the
   * local measure favours most first); default every tensor whose ranges differ. Each costs one
   * run over the samples (PP-OCRv4 det, 156 tensors on 8 pages: about 45 s on two cores).
   */
  maxTensors?: number;
}

/** One tensor (with the tensors sharing its scale) tried at another method's range. */
export interface RangeSearchStep {
  tensors: string[];
  from: Exclude<CalibrationMethod, 'auto'>;
  to: Exclude<CalibrationMethod, 'auto'>;
  /** Lowest output SQNR with this step on top of every step kept before it. */
  outputSqnrDb: number;
  kept: boolean;
}

/** What the search measured and chose (`QuantizeResult.rangeSearch`). */
export interface RangeSearchResult {
  /**
   * Lowest output SQNR with every tensor at one method's range, and with each at its own choice
   * (`local`). These and the steps' figures are measured with the biases as quantized; `sqnrDb`
   * is the result's, bias correction included where the options ask for it.
   */
  wholeModel: Record<Exclude<CalibrationMethod, 'auto'> | 'local', number>;
  /** The best of `wholeModel`: where the per-tensor steps started. */
  startedFrom: Exclude<CalibrationMethod, 'auto'> | 'local';
  steps: RangeSearchStep[];
  /** Lowest output SQNR of the result (the range set chosen, its biases corrected as the options say). */
  sqnrDb: number;
}

/** Tensors holding one range object: they share a scale (through a layout-neutral op), so they move together. */
interface RangeGroup {
  tensors: string[];
  range: TensorRange;
}

/** A step gains nothing under this (measurement noise of the SQNR over a few samples). */
const MIN_GAIN_DB = 0.05;

/** The range `method` gives the group, labelled as calibrate's auto labels it. */
const rangeAt = (group: RangeGroup, method: Method): TensorRange => ({
  ...group.range,
  ...group.range.candidates![method],
  method,
});

const methodOf = (range: TensorRange): Method => range.method ?? 'minmax';

/** Whether two ranges differ by more than 2 % of the wider one's extent (less changes no step visibly). */
function differ(a: { min: number; max: number }, b: { min: number; max: number }): boolean {
  const extent = Math.max(a.max - a.min, b.max - b.min, 1e-12);
  return Math.abs(a.min - b.min) + Math.abs(a.max - b.max) > 0.02 * extent;
}

/** The base ranges with candidates, grouped by object (scale sharing hands one object to several tensors). */
function groupsOf(ranges: Record<string, TensorRange>): RangeGroup[] {
  const byRange = new Map<TensorRange, string[]>();
  for (const [name, range] of Object.entries(ranges))
    if (range.candidates) byRange.set(range, [...(byRange.get(range) ?? []), name]);
  return [...byRange].map(([range, tensors]) => ({ range, tensors }));
}

/** The whole-model assignment: every group at `method`, or at its own choice. */
function assignment(groups: readonly RangeGroup[], method: Method | 'local'): Map<RangeGroup, Method> {
  return new Map(groups.map((g) => [g, method === 'local' ? methodOf(g.range) : method]));
}

function rangesOf(assigned: ReadonlyMap<RangeGroup, Method>): Record<string, TensorRange> {
  const out: Record<string, TensorRange> = {};
  for (const [group, method] of assigned) {
    const range = rangeAt(group, method);
    for (const name of group.tensors) out[name] = range;
  }
  return out;
}

/**
 * The per-tensor steps to try from `start`, best first: for each group, the other method whose
 * range differs most favoured by the local measure (its SQNR on the tensor's own values), ranked
 * by how much more the local measure favours it than the start's.
 */
function candidateSteps(assigned: ReadonlyMap<RangeGroup, Method>) {
  const steps: { group: RangeGroup; from: Method; to: Method; priority: number }[] = [];
  for (const [group, from] of assigned) {
    const local = group.range.sqnrDb ?? {};
    const current = group.range.candidates![from]!;
    const others = METHODS.filter(
      (m) => m !== from && group.range.candidates![m] && differ(group.range.candidates![m], current),
    );
    if (!others.length) continue;
    const to = others.reduce((a, b) => ((local[b] ?? -Infinity) > (local[a] ?? -Infinity) ? b : a));
    steps.push({ group, from, to, priority: (local[to] ?? -Infinity) - (local[from] ?? -Infinity) });
  }
  return steps.sort((a, b) => b.priority - a.priority);
}

/** Check `rangeSearch`: true/false or `{ maxTensors }` with a whole number. */
export function validateRangeSearch(option: unknown): void {
  if (option === undefined || typeof option === 'boolean') return;
  const max = typeof option === 'object' && option !== null ? (option as RangeSearchOptions).maxTensors : NaN;
  if (max !== undefined && !(Number.isInteger(max) && max >= 0))
    throw new InvalidArgumentError(
      `rangeSearch must be true, false or { maxTensors } with a whole number; got ${JSON.stringify(option)}`,
      'rangeSearch',
    );
}

/**
 * Choose each tensor's calibration method by the output SQNR (see the module comment). The
 * base quantization must have used `method: 'auto'` (its ranges carry every method's candidate).
 * Returns the chosen variant, evaluated, with `rangeSearch` saying what was measured; the base
 * itself (with the report) when nothing beat it.
 *
 * @example
 * ```ts
 * const r = await searchRanges(context, { maxTensors: 8 });
 * console.log(r.rangeSearch?.wholeModel, r.rangeSearch?.startedFrom, r.sqnrDb);
 * ```
 */
export async function searchRanges(context: VariantContext, options: RangeSearchOptions = {}): Promise<QuantizeResult> {
  const base = context.base;
  const groups = groupsOf(base.ranges ?? {});
  // Trials leave the biases as quantized: bias correction measures each layer's weight error,
  // which the activation ranges barely move, so it runs once, on the set chosen.
  const measure = async (assigned: ReadonlyMap<RangeGroup, Method>) => {
    const spec = { floatNodes: [], int16Activations: [], ranges: rangesOf(assigned), biasCorrection: false as const };
    return context.outputSqnr((await context.build(spec)).model);
  };
  const wholeModel = {} as Record<Method | 'local', number>;
  let best = { sqnrDb: -Infinity, assigned: assignment(groups, 'local') };
  let startedFrom: Method | 'local' = 'local';
  for (const method of ['local', ...METHODS] as const) {
    const assigned = assignment(groups, method);
    wholeModel[method] = await measure(assigned);
    if (wholeModel[method] > best.sqnrDb + MIN_GAIN_DB)
      [best, startedFrom] = [{ sqnrDb: wholeModel[method], assigned }, method];
  }
  const steps: RangeSearchStep[] = [];
  for (const step of candidateSteps(best.assigned).slice(0, options.maxTensors ?? Infinity)) {
    const assigned = new Map(best.assigned).set(step.group, step.to);
    const sqnrDb = await measure(assigned);
    const kept = sqnrDb > best.sqnrDb + MIN_GAIN_DB;
    steps.push({ tensors: step.group.tensors, from: step.from, to: step.to, outputSqnrDb: sqnrDb, kept });
    if (kept) best = { sqnrDb, assigned };
  }
  const unchanged = startedFrom === 'local' && !steps.some((s) => s.kept);
  const chosen = unchanged
    ? base
    : await context.evaluate(
        await context.build({ floatNodes: [], int16Activations: [], ranges: rangesOf(best.assigned) }),
      );
  return Object.assign(chosen, { rangeSearch: { wholeModel, startedFrom, steps, sqnrDb: chosen.sqnrDb! } });
}
