import type { Tensor } from '@edgeml/core';

/** How closely one output of a candidate follows the baseline's on the same inputs. */
export interface OutputAgreement {
  output: string;
  /** Largest |candidate − baseline| over every element of every input set. */
  maxAbsDiff: number;
  /** Mean |candidate − baseline|. */
  meanAbsDiff: number;
  /** Cosine similarity of the flattened outputs (1 when both are all zero). */
  cosineSimilarity: number;
  /**
   * Share of rows whose arg-max is the same, when the output looks like class scores: a
   * floating-point `[batch, classes]` matrix with at least 2 classes. Absent otherwise (a
   * recurrent state or a feature map has no "top-1").
   */
  top1Agreement?: number;
  /** Elements compared. */
  elements: number;
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

/**
 * Agreement of `candidate` with `baseline`, output by output, over pairs of output maps from
 * the same input sets. Outputs the candidate lacks or whose shapes differ are reported with
 * `maxAbsDiff: Infinity` rather than silently skipped; string outputs are left out.
 *
 * @example
 * ```ts
 * const [a] = outputAgreement([await base.run(f)], [await quant.run(f)]);
 * a.cosineSimilarity; // 0.9998
 * ```
 */
export function outputAgreement(
  baseline: readonly Record<string, Tensor>[],
  candidate: readonly Record<string, Tensor>[],
): OutputAgreement[] {
  const names = Object.keys(baseline[0] ?? {});
  const result: OutputAgreement[] = [];
  for (const name of names) {
    if (baseline[0][name].dtype === 'string') continue;
    let maxAbs = 0,
      sumAbs = 0,
      dot = 0,
      na = 0,
      nb = 0,
      elements = 0,
      rows = 0,
      same = 0;
    let comparable = true;
    const dims = baseline[0][name].dims;
    const classScores = FLOAT_TYPES.has(baseline[0][name].dtype) && dims.length === 2 && dims[1] >= 2;
    for (let s = 0; s < baseline.length; s++) {
      const a = baseline[s][name],
        b = candidate[s]?.[name];
      if (!b || a.dims.length !== b.dims.length || a.dims.some((d, i) => d !== b.dims[i])) {
        comparable = false;
        break;
      }
      const u = a.toFloat64(),
        v = b.toFloat64();
      for (let i = 0; i < u.length; i++) {
        const d = Math.abs(u[i] - v[i]);
        // NaN in either output is a disagreement, not something to average away.
        maxAbs = Number.isNaN(d) ? Infinity : Math.max(maxAbs, d);
        sumAbs += d;
        dot += u[i] * v[i];
        na += u[i] * u[i];
        nb += v[i] * v[i];
      }
      elements += u.length;
      if (classScores) {
        const width = a.dims.at(-1)!;
        const x = argmaxRows(u, width),
          y = argmaxRows(v, width);
        for (let r = 0; r < x.length; r++) if (x[r] === y[r]) same++;
        rows += x.length;
      }
    }
    if (!comparable) {
      result.push({ output: name, maxAbsDiff: Infinity, meanAbsDiff: Infinity, cosineSimilarity: NaN, elements: 0 });
      continue;
    }
    const cosine = na === 0 && nb === 0 ? 1 : na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
    const entry: OutputAgreement = {
      output: name,
      maxAbsDiff: maxAbs,
      meanAbsDiff: elements ? sumAbs / elements : 0,
      cosineSimilarity: cosine,
      elements,
    };
    if (classScores) entry.top1Agreement = rows ? same / rows : 1;
    result.push(entry);
  }
  return result;
}
