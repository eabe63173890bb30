/**
 * The accuracy refinements of static quantization: cross-layer equalization and SmoothQuant
 * rescale the float model before calibration (its outputs stay the same), bias correction
 * fixes the quantized model's biases after. `quantize({ mode: 'static' })` runs the ones its
 * options ask for and reports what each changed.
 */
import { InvalidArgumentError, PassManager, type Backend, type Model, type Pass } from '@edgeml/core';
import { biasCorrection, type BiasCorrectionResult } from './bias-correction.js';
import type { CalibrationData } from './calibrate.js';
import { crossLayerEqualization, type EqualizationResult } from './equalize.js';
import { smoothQuantization, type SmoothQuantResult } from './smooth-quant.js';

/** Options of static quantization that refine its accuracy (all off unless set). */
export interface StaticRefinementOptions {
  /**
   * Cross-layer equalization first: Conv → (Relu, LeakyRelu, PRelu, pooling, Max/Min by a
   * constant) → Conv pairs get equal per-channel weight ranges (see {@link equalizeCrossLayer}).
   * Helps per-tensor weights most (`perChannel: false`), and depthwise-separable networks.
   */
  equalize?: boolean;
  /** Empirical bias correction after quantizing: each Conv/Gemm bias absorbs the mean output shift its weight rounding causes on the calibration samples (see {@link correctBiases}). */
  biasCorrection?: boolean;
  /** SmoothQuant before calibration: `true` (α = 0.5) or `{ alpha }` (see {@link smoothQuant}). */
  smoothQuant?: boolean | { alpha?: number };
}

/** What the refinements changed, as `QuantizeResult` reports it. */
export interface RefinementResults {
  equalization?: EqualizationResult;
  smoothQuant?: SmoothQuantResult;
  biasCorrection?: BiasCorrectionResult;
}

/** The refinement options' checks: types, alpha's range, and data that can be read more than once. */
export function validateRefinementOptions(
  options: StaticRefinementOptions & { calibrationData?: unknown; fullInteger?: boolean },
): void {
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
  const data = options.calibrationData as Iterable<unknown> | undefined;
  if ((options.biasCorrection || sq) && data && data[Symbol.iterator]?.() === (data as unknown))
    throw new InvalidArgumentError(
      `${options.biasCorrection ? 'biasCorrection' : 'smoothQuant'} reads the calibration data once more: pass an array, not a one-shot iterator`,
      'calibrationData',
    );
}

/**
 * Equalize and smooth `model` in place, as `options` ask, before it is calibrated; returns
 * what each did. Its outputs stay the same (up to float rounding).
 */
export async function refineFloatModel(
  model: Model,
  options: StaticRefinementOptions & { calibrationData: CalibrationData; backend: Backend },
): Promise<RefinementResults> {
  const results: RefinementResults = {};
  const passes: Pass[] = [];
  if (options.equalize) passes.push(crossLayerEqualization({}, (r) => (results.equalization = r)));
  const sq = options.smoothQuant;
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
  options: StaticRefinementOptions & { calibrationData: CalibrationData; backend: Backend },
  onResult: (result: BiasCorrectionResult) => void,
): Pass[] {
  if (!options.biasCorrection) return [quantizer];
  let float: Model | undefined;
  const keep: Pass = {
    name: 'keep-float-model',
    inPlace: true,
    run: (model) => {
      float = model.clone();
      return { model, modified: false };
    },
  };
  return [keep, quantizer, biasCorrection(() => float!, options.calibrationData, options.backend, onResult)];
}
