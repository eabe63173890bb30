/**
 * Fusion of exporter idioms, as passes. Each family is a list of {@link Rewrite}s; these
 * factories run one family over a model, counting each rewrite in `counts` when given.
 */
import type { Pass } from '../pass.js';
import { ACTIVATION_REWRITES } from './activations.js';
import { CONV_REWRITES } from './conv-affine.js';
import { NORMALIZATION_REWRITES } from './normalization.js';
import { rewritePass, type RewriteCounts } from './rewrite.js';
import { TRANSPOSE_REWRITES } from './transpose.js';

/**
 * Fuse decomposed activations: clip-of-affine → HardSigmoid, x·HardSigmoid(x) or
 * x·clip(x+3, 0, 6)/6 → HardSwish (opset 14; x·HardSigmoid(x) below), x·Sigmoid(x) → Swish
 * (opset 24, the first with the op), GELU's erf and tanh formulas → Gelu (opset 20).
 *
 * @example
 * ```ts
 * const counts = new Map<string, number>();
 * await new PassManager([activationFusion(counts), deadCodeElimination()], { fixedPoint: true }).run(model);
 * counts.get('hard-swish'); // how many hard-swishes were fused
 * ```
 */
export function activationFusion(counts?: RewriteCounts): Pass {
  return rewritePass('activation-fusion', ACTIVATION_REWRITES, counts);
}

/**
 * Fuse decomposed normalizations: mean/variance/sqrt/div (with γ and β) over the trailing axes →
 * LayerNormalization (opset 17), exp / Σexp (max subtracted or not) → Softmax.
 *
 * @example
 * ```ts
 * await new PassManager([normalizationFusion()]).run(model); // hey_jarvis at opset 17: 4 LayerNormalizations
 * ```
 */
export function normalizationFusion(counts?: RewriteCounts): Pass {
  return rewritePass('normalization-fusion', NORMALIZATION_REWRITES, counts);
}

/**
 * Fold per-channel Mul/Div/Add/Sub constants after a Conv into its weights and bias
 * (BatchNormalization exported as Mul + Add, tf2onnx's separate bias Add).
 *
 * @example
 * ```ts
 * await new PassManager([convAffineFusion(), deadCodeElimination()]).run(model);
 * ```
 */
export function convAffineFusion(counts?: RewriteCounts): Pass {
  return rewritePass('conv-affine-fusion', CONV_REWRITES, counts);
}

/**
 * Cancel Transpose pairs whose permutations compose to the identity (through elementwise ops
 * too), merge consecutive ones, and move a constant operand before a Transpose when that lets
 * it fold into a Conv or meet the next Transpose.
 *
 * @example
 * ```ts
 * await new PassManager([transposeCancellation(), deadCodeElimination()], { fixedPoint: true }).run(model);
 * ```
 */
export function transposeCancellation(counts?: RewriteCounts): Pass {
  return rewritePass('transpose-cancellation', TRANSPOSE_REWRITES, counts);
}

export { applyRewrites, rewritePass, type Rewrite, type RewriteContext, type RewriteCounts } from './rewrite.js';
