/**
 * Hybrid int8: calibrated static QDQ for convolutions (and every other op static placement
 * takes), dynamic int8 for the MatMuls and Gemms with constant weights. This is what suits
 * recognizers and transformers on CPU: a convolution's input ranges are stable and its
 * QLinearConv kernel fast, while the activations entering a projection MatMul vary per token
 * and a range computed at run time (DynamicQuantizeLinear, fused by onnxruntime into
 * DynamicQuantizeMatMul) fits each of them. MatMuls of two activations (attention scores) stay
 * static: the dynamic form needs a constant weight.
 *
 * Whether it is faster than all-static on a given runtime is for measurement to say (see
 * `mode: 'auto'`): onnxruntime-web's wasm kernels differ from onnxruntime-node's.
 */
import type { Model, Node, Pass } from '@edgeml/core';
import { quantizeDynamic } from './dynamic.js';
import type { QuantizationRecord, QuantizationScheme } from './schemes.js';
import { isExcluded } from './select.js';
import {
  quantizeStatic,
  staticQuantizationOpset,
  validateStaticOptions,
  type StaticQuantizeOptions,
} from './static-qdq.js';
import { OPTION_NAMES } from './option-names.js';

/** Options of the hybrid mode: the static mode's (for the static part) plus where the dynamic part goes. */
export interface HybridQuantizeOptions extends StaticQuantizeOptions {
  /**
   * Op types quantized dynamically when their weight is a float constant (default MatMul and
   * Gemm). Everything else static placement takes is quantized statically.
   */
  dynamicOpTypes?: readonly ('MatMul' | 'Gemm')[];
  /** One weight scale per output column in the dynamic part (default false, as in the dynamic mode). */
  dynamicPerChannel?: boolean;
}

const DYNAMIC_DEFAULT = ['MatMul', 'Gemm'] as const;

/** A MatMul/Gemm whose weight (B) is a float constant: the dynamic part's node. */
function hasConstantWeight(node: Node): boolean {
  const b = node.inputs[1];
  return !!b?.const && b.const.dtype === 'float32' && !b.isGraphInput;
}

/**
 * Quantize `model` in place: static QDQ for all but the constant-weight MatMuls/Gemms, then
 * those dynamically. The returned record lists each node once, under the part that quantized it.
 *
 * @example
 * ```ts
 * const record = await quantizeHybrid(model, { calibrationData: samples, backend: new NodeBackend(), perChannel: true });
 * console.log(record.quantized.filter((n) => n.opType === 'MatMul').length); // dynamic MatMuls
 * ```
 */
export async function quantizeHybrid(model: Model, options: HybridQuantizeOptions): Promise<QuantizationRecord> {
  const dynamicOps = new Set<string>(options.dynamicOpTypes ?? DYNAMIC_DEFAULT);
  const dynamicPart = (n: Node) => dynamicOps.has(n.opType) && hasConstantWeight(n) && !isExcluded(n, options.exclude);
  const picked = new Set<Node>();
  for (const g of model.graphs()) for (const n of g) if (dynamicPart(n)) picked.add(n);
  const staticResult = await quantizeStatic(model, {
    ...options,
    perChannel: options.perChannel ?? true,
    format: 'qdq',
    exclude: (n) => picked.has(n) || isExcluded(n, options.exclude),
  });
  const dynamicResult = quantizeDynamic(model, {
    opTypes: [...dynamicOps] as ('MatMul' | 'Gemm')[],
    perChannel: options.dynamicPerChannel ?? false,
    reduceRange: options.reduceRange,
    // Only the picked nodes: a MatMul static placement skipped for its own reasons stays as it is.
    exclude: (n) => !picked.has(n),
  });
  const dynamicNames = new Set(dynamicResult.quantized.map((n) => n.name));
  const pickedNames = new Set([...picked].map((n) => n.name));
  return {
    quantized: [
      ...staticResult.quantized,
      ...dynamicResult.quantized.map((n) => ({ ...n, reason: 'dynamic (activations quantized at run time)' })),
    ],
    skipped: [
      // A node the static part left to the dynamic one is reported by the dynamic part.
      ...staticResult.skipped.filter((n) => !(dynamicNames.has(n.name) && dynamicOps.has(n.opType))),
      ...dynamicResult.skipped.filter((n) => pickedNames.has(n.name)),
    ],
    ranges: staticResult.ranges,
    dequantizedNames: staticResult.dequantizedNames,
  };
}

/** The hybrid mode as a scheme of `quantizationSchemes` (`quantize(model, { mode: 'hybrid', ... })`). */
export const hybridScheme: QuantizationScheme<HybridQuantizeOptions> = {
  name: 'hybrid',
  optionNames: OPTION_NAMES.hybrid,
  summary:
    'static int8 convolutions with dynamic int8 MatMul/Gemm (recognizers, transformers); needs calibration like static',
  validate: validateStaticOptions,
  needs: (options) => ({
    minOpset: staticQuantizationOpset({ ...options, perChannel: options.perChannel ?? true }),
    fuseActivations: true,
  }),
  passes: (options, record) => [hybridPass(options, record)],
};

function hybridPass(options: HybridQuantizeOptions, record: QuantizationRecord): Pass {
  return {
    name: 'quantize-hybrid',
    inPlace: true,
    async run(model) {
      const r = await quantizeHybrid(model, options);
      record.quantized.push(...r.quantized);
      record.skipped.push(...r.skipped);
      record.ranges = r.ranges;
      record.dequantizedNames = r.dequantizedNames;
      return { model, modified: true };
    },
  };
}
