/**
 * Weights kept to 7 bits where the serving runtime's int8 kernels would overflow on full-range
 * ones (onnxruntime on x86-64 without VNNI, see `IntegerKernelTraits`), as onnxruntime's
 * `reduce_range` and PyTorch's fbgemm default do; everywhere else full 8-bit weights.
 */
import type { Backend } from '@edgeml/core';

/** Modes whose int8 weights meet uint8 (or int8) activations in onnxruntime's integer kernels. */
const INTEGER_WEIGHT_MODES = new Set(['dynamic', 'static', 'qat', 'hybrid']);

interface RangeOptions {
  mode: string;
  backend?: Backend;
  target?: Backend;
}

/** What the integer-weight modes' options add to every mode's. */
type WeightRange = { reduceRange?: boolean; weightType?: string };

/**
 * `options` with `reduceRange` decided when the caller left it out, and why it was turned on
 * (for the result's `reducedRange`); the serving runtime (`target`, else `backend`) decides.
 */
export function withReduceRangeDefault<T extends RangeOptions>(options: T): { options: T; reason?: string } {
  const { reduceRange, weightType = 'int8' } = options as T & WeightRange;
  if (reduceRange !== undefined || !INTEGER_WEIGHT_MODES.has(options.mode) || weightType !== 'int8') return { options };
  const runtime = options.target ?? options.backend;
  const traits = runtime?.integerKernels;
  if (!traits?.pairSumsSaturate) return { options };
  return {
    options: { ...options, reduceRange: true },
    reason: `${runtime!.name} on this CPU (${traits.detail}) overflows on full-range int8 weights; pass reduceRange: false (--no-reduce-range) for a model that will run on VNNI or ARM CPUs only`,
  };
}
