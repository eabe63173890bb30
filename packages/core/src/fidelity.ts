/**
 * How far a candidate model's outputs are from a reference's on the same inputs: the one home
 * of these measures, used by quantization reports, benchmarks, the conformance suite and tests.
 */
import type { Tensor } from './tensor/tensor.js';

/** How closely one output of a candidate follows the reference's, over every sample seen. */
export interface Fidelity {
  output: string;
  /** Largest |candidate − reference| over every element (Infinity on NaN or a shape change). */
  maxAbsDiff: number;
  /** Mean |candidate − reference|. */
  meanAbsDiff: number;
  /** Signal-to-noise ratio 10·log10(Σref² / Σ(ref−cand)²), Infinity when equal. */
  sqnrDb: number;
  /** Cosine similarity of the flattened outputs (1 when both are all zero). */
  cosineSimilarity: number;
  /**
   * Share of rows whose arg-max is the same, when the output looks like class scores: a
   * floating-point `[batch, classes]` matrix with at least 2 classes. Absent otherwise (a
   * recurrent state or a feature map has no "top-1").
   */
  top1Agreement?: number;
  /** Mean of the caller's own measure over the samples (see {@link FidelityOptions.metric}). */
  metric?: number;
  /** Elements compared. */
  elements: number;
}

/** Options of {@link measureFidelity} and {@link FidelityAccumulator}. */
export interface FidelityOptions {
  /** Your own score of one sample's candidate output against the reference (e.g. mask IoU); averaged. */
  metric?: (reference: Tensor, candidate: Tensor) => number;
}

const FLOAT_TYPES = new Set(['float32', 'float16', 'float64', 'bfloat16']);

function argmaxRows(values: Float64Array, width: number): Int32Array {
  const rows = values.length / width;
  const out = new Int32Array(rows);
  for (let r = 0; r < rows; r++) {
    let best = 0;
    for (let j = 1; j < width; j++) if (values[r * width + j] > values[r * width + best]) best = j;
    out[r] = best;
  }
  return out;
}

const sameShape = (a: Tensor, b: Tensor) => a.dims.length === b.dims.length && a.dims.every((d, i) => d === b.dims[i]);

/**
 * Running fidelity of one output, fed sample by sample, so no sample's outputs need to be kept.
 *
 * @example
 * ```ts
 * const acc = new FidelityAccumulator('logits');
 * for (const feeds of samples) acc.add((await float.run(feeds)).logits, (await int8.run(feeds)).logits);
 * acc.result().sqnrDb;
 * ```
 */
export class FidelityAccumulator {
  private maxAbs = 0;
  private sumAbs = 0;
  private signal = 0;
  private noise = 0;
  private dot = 0;
  private candNorm = 0;
  private elements = 0;
  private rows = 0;
  private sameRows = 0;
  private metricSum = 0;
  private samples = 0;
  private comparable = true;
  private classScores: boolean | undefined;

  constructor(
    readonly output: string,
    private readonly options: FidelityOptions = {},
  ) {}

  /** One sample's outputs; a missing candidate or a different shape makes the output incomparable. */
  add(reference: Tensor, candidate: Tensor | undefined): void {
    if (!this.comparable) return;
    if (!candidate || !sameShape(reference, candidate)) {
      this.comparable = false;
      return;
    }
    this.classScores ??= FLOAT_TYPES.has(reference.dtype) && reference.dims.length === 2 && reference.dims[1] >= 2;
    const u = reference.toFloat64(),
      v = candidate.toFloat64();
    for (let i = 0; i < u.length; i++) {
      const d = u[i] - v[i];
      const ad = Math.abs(d);
      // NaN in either output is a disagreement, not something to average away.
      this.maxAbs = Number.isNaN(ad) ? Infinity : Math.max(this.maxAbs, ad);
      this.sumAbs += ad;
      this.noise += d * d;
      this.signal += u[i] * u[i];
      this.dot += u[i] * v[i];
      this.candNorm += v[i] * v[i];
    }
    this.elements += u.length;
    if (this.classScores) {
      const width = reference.dims[1];
      const x = argmaxRows(u, width),
        y = argmaxRows(v, width);
      for (let r = 0; r < x.length; r++) if (x[r] === y[r]) this.sameRows++;
      this.rows += x.length;
    }
    if (this.options.metric) this.metricSum += this.options.metric(reference, candidate);
    this.samples++;
  }

  result(): Fidelity {
    if (!this.comparable)
      return {
        output: this.output,
        maxAbsDiff: Infinity,
        meanAbsDiff: Infinity,
        sqnrDb: -Infinity,
        cosineSimilarity: NaN,
        elements: 0,
      };
    // Σref² is both the SQNR's signal and the reference's squared norm.
    const { signal: na, candNorm: nb } = this;
    const out: Fidelity = {
      output: this.output,
      maxAbsDiff: this.maxAbs,
      meanAbsDiff: this.elements ? this.sumAbs / this.elements : 0,
      sqnrDb: this.noise === 0 ? Infinity : 10 * Math.log10(this.signal / this.noise),
      cosineSimilarity: na === 0 && nb === 0 ? 1 : na === 0 || nb === 0 ? 0 : this.dot / Math.sqrt(na * nb),
      elements: this.elements,
    };
    if (this.classScores) out.top1Agreement = this.rows ? this.sameRows / this.rows : 1;
    if (this.options.metric && this.samples) out.metric = this.metricSum / this.samples;
    return out;
  }
}

/**
 * Fidelity of `candidate` to `reference`, output by output, over pairs of output maps from the
 * same input sets. Outputs the candidate lacks or whose shapes differ are reported with
 * `maxAbsDiff: Infinity` rather than skipped; string outputs are left out.
 *
 * @example
 * ```ts
 * const [logits] = measureFidelity([await float.run(f)], [await int8.run(f)]);
 * logits.cosineSimilarity; // 0.9998
 * ```
 */
export function measureFidelity(
  reference: readonly Record<string, Tensor>[],
  candidate: readonly Record<string, Tensor>[],
  options: FidelityOptions = {},
): Fidelity[] {
  const names = Object.keys(reference[0] ?? {}).filter((name) => reference[0][name].dtype !== 'string');
  return names.map((name) => {
    const acc = new FidelityAccumulator(name, options);
    reference.forEach((r, s) => acc.add(r[name], candidate[s]?.[name]));
    return acc.result();
  });
}

/** The ONNX backend tests' tolerances (onnx/backend/test/runner: rtol 1e-3, atol 1e-7). */
export const ONNX_TEST_RTOL = 1e-3;
export const ONNX_TEST_ATOL = 1e-7;

/**
 * Why `actual` is not `expected` within `|a − e| ≤ atol + rtol·|e|` (NumPy's allclose, as the
 * ONNX backend tests judge), or undefined when it is. NaN matches NaN; types and shapes must match.
 *
 * @example
 * ```ts
 * const why = toleranceMismatch(out.y, expected.y); // "element 3: 0.52 vs expected 0.5"
 * ```
 */
export function toleranceMismatch(
  actual: Tensor,
  expected: Tensor,
  rtol = ONNX_TEST_RTOL,
  atol = ONNX_TEST_ATOL,
): string | undefined {
  if (!sameShape(actual, expected)) return `shape [${actual.dims}] vs expected [${expected.dims}]`;
  if (actual.dtype !== expected.dtype) return `type ${actual.dtype} vs expected ${expected.dtype}`;
  if (actual.dtype === 'string') {
    const text = (t: Tensor) => t.stringBytes.map((b) => new TextDecoder().decode(b));
    const a = text(actual),
      e = text(expected);
    const i = e.findIndex((s, k) => s !== a[k]);
    return i < 0 ? undefined : `element ${i}: '${a[i]}' vs expected '${e[i]}'`;
  }
  const a = actual.toFloat64(),
    e = expected.toFloat64();
  for (let i = 0; i < e.length; i++) {
    const x = a[i],
      y = e[i];
    if (x === y || (Number.isNaN(x) && Number.isNaN(y))) continue;
    if (!(Math.abs(x - y) <= atol + rtol * Math.abs(y))) return `element ${i}: ${x} vs expected ${y}`;
  }
  return undefined;
}

/**
 * Levenshtein distance: the fewest single-element insertions, deletions and substitutions that
 * turn `a` into `b`. Summed over lines and divided by the reference's length it is a
 * recognizer's character error rate, the fidelity measure of text recognition.
 *
 * @example
 * ```ts
 * editDistance('kitten', 'sitting'); // 3
 * ```
 */
export function editDistance(a: ArrayLike<unknown>, b: ArrayLike<unknown>): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}
