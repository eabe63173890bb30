import { InvalidArgumentError, type SessionOptions } from '@edgeml/core';
import type { InferenceSession } from 'onnxruntime-common';

const OPTIMIZATION_LEVELS: readonly NonNullable<SessionOptions['graphOptimizationLevel']>[] = [
  'disabled',
  'basic',
  'extended',
  'all',
];

function validate(options: SessionOptions): void {
  for (const key of ['intraOpThreads', 'interOpThreads'] as const) {
    const v = options[key];
    if (v !== undefined && (!Number.isInteger(v) || v < 0))
      throw new InvalidArgumentError(`${key} must be a non-negative integer, got ${v}`, key);
  }
  const level = options.graphOptimizationLevel;
  if (level !== undefined && !OPTIMIZATION_LEVELS.includes(level))
    throw new InvalidArgumentError(
      `graphOptimizationLevel must be disabled, basic, extended or all, got '${String(level)}'`,
      'graphOptimizationLevel',
    );
}

/**
 * Core's {@link SessionOptions} as onnxruntime's, checked first (a bad thread count is an
 * InvalidArgumentError naming the option, not a runtime crash); `options.extra` is applied last,
 * untouched. Left out: execution providers ({@link createSessionWithFallback} chooses them) and
 * profiling (only onnxruntime-node has a profiler).
 *
 * @example
 * ```ts
 * const ortOptions = ortSessionOptions({ intraOpThreads: 1, graphOptimizationLevel: 'all' });
 * // { logSeverityLevel: 4, intraOpNumThreads: 1, graphOptimizationLevel: 'all' }
 * ```
 */
export function ortSessionOptions(options: SessionOptions): InferenceSession.SessionOptions {
  validate(options);
  // Fatal only: warnings (unused initializers and the like) are noise in a library, and every
  // error already reaches the caller as a BackendError carrying onnxruntime's message.
  const ortOptions: InferenceSession.SessionOptions = { logSeverityLevel: 4 };
  if (options.intraOpThreads !== undefined) ortOptions.intraOpNumThreads = options.intraOpThreads;
  if (options.interOpThreads !== undefined) ortOptions.interOpNumThreads = options.interOpThreads;
  if (options.graphOptimizationLevel) ortOptions.graphOptimizationLevel = options.graphOptimizationLevel;
  return { ...ortOptions, ...(options.extra as InferenceSession.SessionOptions | undefined) };
}
