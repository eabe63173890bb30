/**
 * The accuracy refinements of static quantization: cross-layer equalization and SmoothQuant
 * rescale the float model before calibration (its outputs stay the same), bias correction
 * fixes the quantized model's biases after. `quantize({ mode: 'static' })` runs the ones its
 * options ask for — by default bias correction always, and equalization with per-tensor
 * weights — and reports what each changed.
 *
 * The defaults follow the real-model suite (docs/benchmarks.md, bench/refinements.mjs, output
 * SQNR held out, leave-one-out): bias correction was never worse on the four models it applies
 * to, per-channel (+0.1 to +5.6 dB) or per-tensor; equalization on top of it was never worse
 * with per-tensor weights (+0.1 to +13.5 dB for both together) but model-dependent with
 * per-channel ones (−0.6 to +1.8 dB alone), so there it runs only when asked for, as AIMET
 * and NNCF leave it. NNCF likewise corrects biases by default. On real text pages, though, the
 * correction lowered PP-OCRv4 det's output SQNR (7.0 → 3.9 dB held out), so it is kept only
 * when it does not lower it (see {@link biasCorrection}). SmoothQuant changed nothing
 * measurable on the suite's one transformer (PP-OCRv4 rec) and stays opt-in.
 */
import { InvalidArgumentError, PassManager, type Backend, type Model, type Pass } from '@edgeml/core';
import { biasCorrection, type BiasCorrectionResult } from './bias-correction.js';
import type { CalibrationData } from './calibrate.js';
import { crossLayerEqualization, type EqualizationResult } from './equalize.js';
import { validateRangeSearch, type RangeSearchOptions, type RangeSearchResult } from './range-search.js';
import { smoothQuantization, type SmoothQuantResult } from './smooth-quant.js';

/** Options of static quantization that refine its accuracy. */
export interface StaticRefinementOptions {
  /**
   * Cross-layer equalization first: Conv → (Relu, LeakyRelu, PRelu, pooling, Max/Min by a
   * constant) → Conv pairs, and MatMul/Gemm pairs, get equal per-channel weight ranges (see
   * {@link equalizeCrossLayer}). Default: on with per-tensor weights (`perChannel: false`),
   * off with per-channel ones.
   */
  equalize?: boolean;
  /**
   * Empirical bias correction after quantizing: each Conv, Gemm and MatMul bias absorbs the mean
   * output shift its weight rounding causes on the calibration samples (see {@link correctBiases}),
   * dropped when that lowers the output SQNR (at all on held-out `evaluationData`, by over 1 dB on
   * the calibration samples; `biasCorrection.kept` in the result says which; on PP-OCRv4 det it
   * lowered it). Default: on, unless the samples are a one-shot iterator (they would be read twice) or
   * `fullInteger` is set.
   */
  biasCorrection?: boolean;
  /** SmoothQuant before calibration: `true` (α = 0.5) or `{ alpha }` (see {@link smoothQuant}). Default off. */
  smoothQuant?: boolean | { alpha?: number };
  /**
   * With `method: 'auto'` and evaluation data (an array): choose each tensor's calibration method
   * by the output SQNR on the evaluation samples, not by its own values alone (see
   * {@link searchRanges}; `QuantizeResult.rangeSearch` says what was measured). Default on;
   * `false` keeps the per-tensor choice; `{ maxTensors }` bounds the runs (4, plus one per tensor tried: by default every tensor whose ranges differ).
   */
  rangeSearch?: boolean | RangeSearchOptions;
}

/** The refinement options with what deciding and running them needs: the samples, the backend, and the weight form. */
export type RefinableOptions = StaticRefinementOptions & {
  calibrationData: CalibrationData;
  backend: Backend;
  perChannel?: boolean;
  fullInteger?: boolean;
  /** Samples held out from calibration, when given as an array: bias correction is judged on them. */
  evaluationData?: CalibrationData;
};

const isOneShot = (data: unknown) => !!data && (data as Iterable<unknown>)[Symbol.iterator]?.() === (data as unknown);

/** The refinements that run for these options: the explicit choices, else the measured defaults. */
export function resolveRefinements(options: RefinableOptions): Required<Omit<StaticRefinementOptions, 'rangeSearch'>> {
  const perTensor = options.perChannel === false;
  return {
    equalize: options.equalize ?? perTensor,
    biasCorrection: options.biasCorrection ?? (!options.fullInteger && !isOneShot(options.calibrationData)),
    smoothQuant: options.smoothQuant ?? false,
  };
}

/** What the refinements changed, as `QuantizeResult` reports it. */
export interface RefinementResults {
  equalization?: EqualizationResult;
  smoothQuant?: SmoothQuantResult;
  biasCorrection?: BiasCorrectionResult;
  /** `method: 'auto'` with evaluation data: the output SQNR of each calibration method, and the per-tensor steps tried. */
  rangeSearch?: RangeSearchResult;
}

/** The refinement options' checks: types, alpha's range, and data that can be read more than once. */
export function validateRefinementOptions(
  options: StaticRefinementOptions & { calibrationData?: unknown; fullInteger?: boolean },
): void {
  validateRangeSearch(options.rangeSearch);
  for (const name of ['equalize', 'biasCorrection'] as const)
    if (options[name] !== undefined && typeof options[name] !== 'boolean')
      throw new InvalidArgumentError(`${name} must be true or false, got ${String(options[name])}`, name);
  const sq = options.smoothQuant;
  if (sq !== undefined && typeof sq !== 'boolean') {
    const alpha = typeof sq === 'object' && sq !== null ? sq.alpha : NaN;
    if (alpha !== undefined && !(typeof alpha === 'number' && alpha >= 0 && alpha <= 1))
      throw new InvalidArgumentError(
        `smoothQuant must be true, false or { alpha } with alpha in [0, 1], got ${JSON.stringify(sq)}`,
        'smoothQuant',
      );
  }
  if (options.biasCorrection && options.fullInteger)
    throw new InvalidArgumentError(
      'biasCorrection runs the quantized model on the float calibration samples, which a fullInteger model does not take; correct the biases without fullInteger',
      'biasCorrection',
    );
  if ((options.biasCorrection || sq) && isOneShot(options.calibrationData))
    throw new InvalidArgumentError(
      `${options.biasCorrection ? 'biasCorrection' : 'smoothQuant'} reads the calibration data once more: pass an array, not a one-shot iterator`,
      'calibrationData',
    );
}

/**
 * Equalize and smooth `model` in place, as `options` ask (or the defaults say), before it is calibrated; returns
 * what each did. Its outputs stay the same (up to float rounding).
 */
export async function refineFloatModel(model: Model, options: RefinableOptions): Promise<RefinementResults> {
  const results: RefinementResults = {};
  const passes: Pass[] = [];
  const { equalize, smoothQuant: sq } = resolveRefinements(options);
  if (equalize) passes.push(crossLayerEqualization({}, (r) => (results.equalization = r)));
  if (sq)
    passes.push(
      smoothQuantization(
        options.calibrationData,
        options.backend,
        sq === true ? {} : sq,
        (r) => (results.smoothQuant = r),
      ),
    );
  if (passes.length) await new PassManager(passes).run(model);
  return results;
}

/**
 * The static quantizer's pass, with bias correction after it when `options` ask: the model as
 * it was just before quantizing is kept (a structural clone, weights shared) for the float
 * weights.
 */
export function withBiasCorrection(
  quantizer: Pass,
  options: RefinableOptions,
  onResult: (result: BiasCorrectionResult) => void,
): Pass[] {
  if (!resolveRefinements(options).biasCorrection) return [quantizer];
  let float: Model | undefined;
  const keep: Pass = {
    name: 'keep-float-model',
    inPlace: true,
    run: (model) => {
      float = model.clone();
      return { model, modified: false };
    },
  };
  // Held-out samples judge the corrections better than the ones they were fitted on.
  const judge = Array.isArray(options.evaluationData) ? options.evaluationData : undefined;
  const correction = biasCorrection(() => float!, options.calibrationData, options.backend, onResult, judge);
  return [keep, quantizer, correction];
}
