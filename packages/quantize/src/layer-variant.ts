/**
 * Variants of a static quantization: the same calibrated ranges, with some layers kept in float
 * or given 16-bit activations. Sensitivity analysis and mixed precision build and measure them;
 * nothing here calibrates again (a tensor first quantized in a variant, such as a Conv output
 * that a fused Relu hid before, is calibrated once and its range kept for every later variant).
 */
import {
  encodedSize,
  fixInputShapes,
  inferShapes,
  type Backend,
  type Model,
  type Node,
  type Tensor,
} from '@edgeml/core';
import type { CalibrationData, CalibrationSample, TensorRange } from './calibrate.js';
import { evaluate, floatOutputs, lowestOutputSqnr } from './evaluate.js';
import type { QuantizeResult, StaticModeOptions } from './quantize.js';
import { runScheme, type QuantizationScheme } from './schemes.js';

/** How a layer leaves plain int8: float kernels, or 16-bit activations (int8 weights, opset 21). */
export type LayerPrecision = 'float' | 'int16';

/** Which nodes go back to float and which activations become int16, on top of the base quantization. */
export interface VariantSpec {
  floatNodes: readonly string[];
  int16Activations: readonly string[];
  /** Ranges used instead of the base ones, by tensor name (the calibration method search tries them). */
  ranges?: Record<string, TensorRange>;
  /** `false`: biases left as quantized, even where the options correct them (a cheaper variant to compare ranges by). */
  biasCorrection?: false;
}

/**
 * Everything a variant is built and measured from; shared by every variant of one quantization.
 * Invariant: every variant reuses the base ranges, so variants differ only in which layers
 * leave int8, never in calibration.
 *
 * @example
 * ```ts
 * const context = await VariantContext.create(floatModel, evaluatedResult, options, quantizationSchemes.get('static'), samples);
 * const variant = await context.build({ floatNodes: ['conv3', 'relu3'], int16Activations: [] });
 * console.log(await context.outputSqnr(variant.model));
 * ```
 */
export class VariantContext {
  /** Ranges of the base quantization, plus any calibrated for a variant (kept so none is calibrated twice). */
  private readonly ranges: Record<string, TensorRange>;

  private constructor(
    /** The prepared float model: each variant is cut from a clone of it, and it is the reference. */
    readonly floatModel: Model,
    /** The all-int8 quantization, evaluated: its ranges, nodes and errors are the starting point. */
    readonly base: QuantizeResult,
    private readonly options: StaticModeOptions,
    private readonly scheme: QuantizationScheme<never>,
    /** The samples every variant is measured on (read once per measurement: an array, not a one-shot iterator). */
    readonly data: CalibrationData,
    private readonly reference: readonly Record<string, Tensor>[],
    known?: Record<string, TensorRange>,
  ) {
    this.ranges = { ...known, ...base.ranges };
  }

  /** A context for `base`; the float outputs on `data` are computed once here when not given. */
  static async create(
    floatModel: Model,
    base: QuantizeResult,
    options: StaticModeOptions,
    scheme: QuantizationScheme<never>,
    data: CalibrationData,
    reference?: readonly Record<string, Tensor>[],
  ): Promise<VariantContext> {
    const outputs = reference ?? (await floatOutputs(floatModel, data, options.backend));
    return new VariantContext(floatModel, base, options, scheme, data, outputs);
  }

  /** A context for variants of `base` instead (a variant of this one), sharing the float reference. */
  rebased(base: QuantizeResult): VariantContext {
    return new VariantContext(this.floatModel, base, this.options, this.scheme, this.data, this.reference, this.ranges);
  }

  /** The backend the base quantization calibrated and evaluated on. */
  get backend(): Backend {
    return this.options.backend;
  }

  /** Re-quantize a clone of the float model with `spec` applied, reusing the base ranges. */
  async build(spec: VariantSpec): Promise<QuantizeResult> {
    const model = this.floatModel.clone();
    const user = this.options.exclude;
    const floats = new Set(spec.floatNodes);
    const exclude =
      typeof user === 'function'
        ? (n: Node) => user(n) || floats.has(n.name)
        : [...(user ?? []), ...spec.floatNodes.map((f) => `node:${f}`)];
    const int16 = Object.fromEntries(spec.int16Activations.map((name) => [name, 'int16' as const]));
    const record = await runScheme(model, this.scheme, {
      ...this.options,
      exclude,
      typeOverrides: { ...this.options.typeOverrides, ...int16 },
      rangeOverrides: { ...this.options.rangeOverrides, ...this.ranges, ...spec.ranges },
      ...(spec.biasCorrection === false && { biasCorrection: false }),
    });
    // Only ranges first calibrated here are kept (fused-away tensors' too, or every variant would
    // calibrate them again): a spec's own ranges are for its variant alone.
    for (const [name, range] of Object.entries({ ...record.calibratedRanges, ...record.ranges }))
      this.ranges[name] ??= range;
    return {
      ...this.base,
      model,
      quantizedNodes: record.quantized,
      skippedNodes: record.skipped,
      sizeAfter: encodedSize(model),
      ranges: record.ranges,
      dequantizedNames: record.dequantizedNames,
      outputErrors: undefined,
      tensorErrors: undefined,
      sqnrDb: undefined,
      metric: undefined,
    };
  }

  /**
   * The float model with its inputs fixed to the first sample's shapes and shapes inferred, so
   * every layer's MACs and elements can be counted (exported models often leave dims symbolic).
   */
  async shaped(): Promise<Model> {
    const model = this.floatModel.clone();
    for await (const sample of this.data as AsyncIterable<CalibrationSample>) {
      const dims = Object.fromEntries(Object.entries(sample).map(([name, t]) => [name, t.dims]));
      fixInputShapes(model, dims);
      break;
    }
    inferShapes(model, { strict: false });
    return model;
  }

  /** Lowest output SQNR of `model` against the float model on the data (outputs only: the cheap measure). */
  async outputSqnr(model: Model): Promise<number> {
    return lowestOutputSqnr(this.floatModel, model, this.data, this.backend, this.reference);
  }

  /** The full error report of a variant (per output and per tensor), as the base result has. */
  async evaluate(result: QuantizeResult): Promise<QuantizeResult> {
    await evaluate(result, this.floatModel, this.data, this.backend, this.reference);
    return result;
  }
}
