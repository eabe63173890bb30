/**
 * The quantization modes as schemes: each checks its options and lists the passes that carry it
 * out. `quantize()` runs the scheme named by `options.mode`; the CLI lists, checks and documents
 * its modes from this registry. Register your own with `quantizationSchemes.register(...)`.
 */
import {
  PassManager,
  SchemeRegistry,
  deadCodeElimination,
  type Backend,
  type Model,
  type Pass,
  type Scheme,
} from '@edgeml/core';
import { quantizeDynamic, validateDynamicOptions, type DynamicQuantizeOptions } from './dynamic.js';
import { convertToFloat16, float16Ranges, type Float16Options } from './float16.js';
import { quantizeInt4, validateInt4Options, type Int4Options } from './int4.js';
import { hybridScheme } from './hybrid.js';
import { qatScheme } from './qat.js';
import { qdqToQOperator } from './qoperator.js';
import { OPTION_NAMES } from './option-names.js';
import type { NodeOutcome } from './select.js';
import {
  quantizeStatic,
  staticQuantizationOpset,
  validateStaticOptions,
  type StaticQuantizeOptions,
} from './static-qdq.js';
import type { CalibrationData, TensorRange } from './calibrate.js';
import type { BiasCorrectionResult } from './bias-correction.js';
import { validateRefinementOptions, withBiasCorrection, type StaticRefinementOptions } from './refinements.js';

/** What a quantization scheme's passes did, filled in as they run. */
export interface QuantizationRecord {
  quantized: NodeOutcome[];
  skipped: NodeOutcome[];
  /** Static schemes: calibrated range of every quantized activation. */
  ranges?: Record<string, TensorRange>;
  /** Static schemes: activation name → the value holding its dequantized form. */
  dequantizedNames?: Record<string, string>;
  /** Static schemes: every range calibrated or given, fused-away tensors' too (see `StaticQuantizeResult`). */
  calibratedRanges?: Record<string, TensorRange>;
  /** Static schemes with `biasCorrection`: the biases corrected. */
  biasCorrection?: BiasCorrectionResult;
  /** Mode qat: what its trainer reported. */
  training?: Record<string, unknown>;
}

/** A quantization mode: its options type and the record its passes fill. */
export interface QuantizationScheme<O = Record<string, unknown>> extends Scheme<O, QuantizationRecord> {
  /**
   * The scheme folds BatchNormalization into the layer before it itself, so `quantize()`'s
   * preprocessing leaves it (qat: the trainer is handed what each fold removed, to train with the
   * normalization's statistics apart). Default false: preprocessing folds.
   */
  readonly foldsBatchNorms?: boolean;
  /**
   * Every option the scheme reads besides `mode` and {@link QuantizeCommonOptions}'s. When given,
   * `quantize()` refuses any other with an InvalidArgumentError naming it (and the closest of
   * these), rather than ignoring a misspelt one.
   */
  readonly optionNames?: readonly string[];
}

/** An in-place pass that runs `edit` and always counts as a change (quantizers always rewrite). */
export function quantizationPass(name: string, edit: (model: Model) => void | Promise<void>): Pass {
  return {
    name,
    inPlace: true,
    async run(model) {
      await edit(model);
      return { model, modified: true };
    },
  };
}

/** A pass running a quantizer that reports its quantized and skipped nodes (and, static ones, its ranges). */
function recordingPass(
  name: string,
  record: QuantizationRecord,
  quantizer: (model: Model) => Partial<QuantizationRecord> | Promise<Partial<QuantizationRecord>>,
): Pass {
  return quantizationPass(name, async (model) => {
    const r = await quantizer(model);
    record.quantized.push(...(r.quantized ?? []));
    record.skipped.push(...(r.skipped ?? []));
    if (r.ranges) record.ranges = r.ranges;
    if (r.dequantizedNames) record.dequantizedNames = r.dequantizedNames;
    if (r.calibratedRanges) record.calibratedRanges = r.calibratedRanges;
  });
}

const dynamicScheme: QuantizationScheme<DynamicQuantizeOptions> = {
  name: 'dynamic',
  optionNames: OPTION_NAMES.dynamic,
  summary: 'int8 weights, activations quantized at run time (MatMul, Gemm, Gather, LSTM, GRU; Conv on request)',
  validate: validateDynamicOptions,
  // DynamicQuantizeLinear is opset 11; per-channel weights need DequantizeLinear's axis (13).
  needs: (options) => ({ minOpset: options.perChannel ? 13 : 11 }),
  passes: (options, record) => [recordingPass('quantize-dynamic', record, (model) => quantizeDynamic(model, options))],
};

/**
 * The static mode's defaults: weights per output channel (one scale per filter keeps small
 * filters from being flattened by a large one; opset 13, raised by preparation when older).
 */
const withStaticDefaults = (options: StaticQuantizeOptions): StaticQuantizeOptions => ({
  ...options,
  perChannel: options.perChannel ?? true,
});

const staticScheme: QuantizationScheme<StaticQuantizeOptions & StaticRefinementOptions> = {
  name: 'static',
  optionNames: OPTION_NAMES.static,
  summary: 'calibrated int8 weights and activations (QDQ pairs, or QOperator with format qoperator)',
  validate: (options) => {
    validateStaticOptions(options);
    validateRefinementOptions(options);
  },
  // Every activation left decomposed (hard-swish as Add, Clip, Mul, Div) is Q/DQ pairs more.
  needs: (options) => ({
    minOpset: staticQuantizationOpset(withStaticDefaults(options)),
    fuseActivations: true,
    fuseNormalizations: true,
  }),
  passes: (options, record) => [
    ...withBiasCorrection(
      recordingPass('quantize-static-qdq', record, (model) =>
        quantizeStatic(model, { ...withStaticDefaults(options), format: 'qdq' }),
      ),
      options,
      (r) => (record.biasCorrection = r),
    ),
    ...(options.format === 'qoperator'
      ? [quantizationPass('qdq-to-qoperator', (model) => void qdqToQOperator(model))]
      : []),
  ],
};

const int4Scheme: QuantizationScheme<Int4Options> = {
  name: 'int4',
  optionNames: OPTION_NAMES.int4,
  summary: '4-bit blocked weights for MatMul/Gemm/Gather (MatMulNBits, or blocked QDQ at opset 21)',
  validate: validateInt4Options,
  // Blocked DequantizeLinear is opset 21; MatMulNBits is a com.microsoft op and needs none.
  needs: (options) => (options.format === 'qdq' ? { minOpset: 21 } : {}),
  passes: (options, record) => [recordingPass('quantize-int4', record, (model) => quantizeInt4(model, options))],
};

/** fp16 with the common options it uses: samples (and a backend) to find overflowing layers. */
type Float16SchemeOptions = Float16Options & { evaluationData?: CalibrationData; backend?: Backend };

const fp16Scheme: QuantizationScheme<Float16SchemeOptions> = {
  name: 'fp16',
  optionNames: OPTION_NAMES.fp16,
  summary:
    'float16 weights and activations; numerically fragile ops, and layers that overflow float16 on the samples, kept in float32',
  validate: () => undefined,
  passes: (options, record) => [
    quantizationPass('convert-to-float16', async (model) => {
      const { evaluationData: samples, backend } = options;
      // Ranges are measured on the float model before any of it changes.
      const ranges = samples && backend ? await float16Ranges(model, samples, backend) : undefined;
      const r = convertToFloat16(model, { ...options, ranges });
      record.skipped.push(...r.kept);
      const kept = new Set(r.kept.map((k) => `${k.opType}/${k.name}`));
      for (const g of model.graphs())
        for (const n of g)
          if (!kept.has(`${n.opType}/${n.name}`)) record.quantized.push({ name: n.name, opType: n.opType });
    }),
  ],
};

/**
 * Every quantization mode `quantize()` and `edgeml quantize --mode` know, in the order help lists them.
 *
 * @example
 * ```ts
 * quantizationSchemes.names(); // ['dynamic', 'static', 'hybrid', 'qat', 'int4', 'fp16']
 * quantizationSchemes.register(myScheme); // quantize(model, { mode: 'mine', ... }) now runs it
 * ```
 */
export const quantizationSchemes = new SchemeRegistry<QuantizationScheme<never>>('quantization mode', 'mode');
for (const s of [dynamicScheme, staticScheme, hybridScheme, qatScheme, int4Scheme, fp16Scheme])
  quantizationSchemes.register(s);

/** Run `scheme`'s passes on `model` (in place) and return what they did. */
export async function runScheme(
  model: Model,
  scheme: QuantizationScheme<never>,
  options: unknown,
): Promise<QuantizationRecord> {
  const record: QuantizationRecord = { quantized: [], skipped: [] };
  // Whatever the scheme replaced (float weights, bypassed nodes) goes once it is unread.
  await new PassManager([...scheme.passes(options as never, record), deadCodeElimination()]).run(model);
  return record;
}
