/**
 * The option names each built-in mode reads, so that `quantize()` can refuse one it does not
 * (a misspelt `calibrationMethod` for `method` was silently ignored and the model quantized with
 * the default). Each list is checked against its options type when this file compiles: a name
 * missing from a list, or one the type lacks, is a type error.
 */
import { InvalidArgumentError, editDistance } from '@edgeml/core';
import type { DynamicQuantizeOptions } from './dynamic.js';
import type { Float16Options } from './float16.js';
import type { HybridQuantizeOptions } from './hybrid.js';
import type { Int4Options } from './int4.js';
import type { QatQuantizeOptions } from './qat.js';
import type { QuantizeCommonOptions } from './quantize.js';
import type { StaticRefinementOptions } from './refinements.js';
import type { StaticQuantizeOptions } from './static-qdq.js';

/** Every property of `T`, each marked: an object literal of this type lists exactly T's names. */
type NamesOf<T> = Record<keyof Required<T>, true>;

const COMMON = {
  specialize: true,
  preprocess: true,
  evaluationData: true,
  backend: true,
  accuracyBudget: true,
  sensitivity: true,
  sqnrFloorDb: true,
  target: true,
} satisfies NamesOf<QuantizeCommonOptions>;

const DYNAMIC = {
  weightType: true,
  perChannel: true,
  reduceRange: true,
  opTypes: true,
  exclude: true,
} satisfies NamesOf<DynamicQuantizeOptions>;

const STATIC = {
  ...DYNAMIC,
  calibrationData: true,
  backend: true,
  activationType: true,
  activationSymmetric: true,
  rangeOverrides: true,
  paramOverrides: true,
  typeOverrides: true,
  fullInteger: true,
  format: true,
  method: true,
  movingAverage: true,
  percentile: true,
  onProgress: true,
  entropyLevels: true,
  keepOutputs: true,
} satisfies NamesOf<StaticQuantizeOptions>;

const REFINEMENTS = {
  equalize: true,
  biasCorrection: true,
  smoothQuant: true,
  rangeSearch: true,
} satisfies NamesOf<StaticRefinementOptions>;

const INT4 = {
  blockSize: true,
  symmetric: true,
  format: true,
  algorithm: true,
  hqq: true,
  exclude: true,
} satisfies NamesOf<Int4Options>;

const FP16 = { keepIoTypes: true, blockList: true, exclude: true, ranges: true } satisfies NamesOf<Float16Options>;

const QAT = { ...STATIC, train: true } satisfies NamesOf<QatQuantizeOptions>;

const HYBRID = { ...STATIC, dynamicOpTypes: true, dynamicPerChannel: true } satisfies NamesOf<HybridQuantizeOptions>;

/** The options of each built-in mode besides `mode` and the common ones. */
export const OPTION_NAMES = {
  dynamic: Object.keys(DYNAMIC),
  static: Object.keys({ ...STATIC, ...REFINEMENTS }),
  int4: Object.keys(INT4),
  fp16: Object.keys(FP16),
  qat: Object.keys(QAT),
  hybrid: Object.keys(HYBRID),
} as const;

/** The known name a mistyped `key` most likely meant: one inside it or holding it (`calibrationMethod` → `method`), else the nearest by edits. */
function closestName(key: string, known: readonly string[]): string {
  const k = key.toLowerCase();
  const overlapping = known.filter((n) => k.includes(n.toLowerCase()) || n.toLowerCase().includes(k));
  if (overlapping.length) return overlapping.sort((a, b) => b.length - a.length)[0];
  return [...known].sort((a, b) => editDistance(key, a) - editDistance(key, b))[0];
}

/**
 * Refuse an option `names` (the mode's own) and the common options do not include, naming the
 * closest known one.
 */
export function refuseUnknownOptions(options: Record<string, unknown>, names: readonly string[]): void {
  // calibrationData is let through everywhere: one options object often serves several modes in turn.
  const known = new Set(['mode', 'calibrationData', ...Object.keys(COMMON), ...names]);
  for (const key of Object.keys(options)) {
    if (known.has(key) || options[key] === undefined) continue;
    const closest = closestName(key, [...known]);
    throw new InvalidArgumentError(
      `quantize: mode ${String(options.mode)} has no option '${key}' (did you mean '${closest}'?); its options: ${[...known].filter((n) => n !== 'mode').join(', ')}`,
      key,
    );
  }
}
