/**
 * What `edgeml quantize` reports beyond sizes and nodes: per-layer sensitivity, the layers mixed
 * precision took out of int8, the calibration method chosen per tensor, warnings, and the
 * Markdown report `--report file.md` writes.
 */
import type {
  LayerSensitivity,
  MixedPrecisionLayer,
  MixedPrecisionRunSearch,
  QuantizeResult,
  QuantizeWarning,
  RangeSearchResult,
} from '@edgeml/quantize';

/** Layers of the sensitivity ranking the text and JSON reports show (the Markdown report shows all measured). */
export const SENSITIVITY_SHOWN = 10;

/** The quality part of the JSON report: what sensitivity, mixed precision and calibration found. */
export interface QuantizeQualityReport {
  /** Most sensitive layers first (top {@link SENSITIVITY_SHOWN}; the Markdown report lists every one measured). */
  sensitivity?: LayerSensitivity[];
  /** Layers `--min-sqnr` took out of int8, in the order it did, with the precision and the SQNR after each. */
  mixedPrecision?: MixedPrecisionLayer[];
  /** `--min-sqnr` with int16: the search for runs of activations to widen together, when it ran and fell short. */
  runSearch?: MixedPrecisionRunSearch;
  /** `--method auto`: how many tensors got each method, and the method of every tensor. */
  calibration?: { counts: Record<string, number>; methods: Record<string, string> };
  /** `--method auto`: the output SQNR of each method for the whole model, and the per-tensor steps tried on top of the best. */
  rangeSearch?: RangeSearchResult;
  /** E.g. the output SQNR under `--sqnr-floor`, with the `--min-sqnr` setting that would meet it. */
  warnings?: QuantizeWarning[];
}

/** The quality fields of a quantize() result, ready for the JSON report. */
export function qualityReport(result: QuantizeResult): QuantizeQualityReport {
  const report: QuantizeQualityReport = {};
  if (result.sensitivity?.length) report.sensitivity = result.sensitivity.slice(0, SENSITIVITY_SHOWN);
  if (result.mixedPrecision) report.mixedPrecision = result.mixedPrecision;
  if (result.runSearch) report.runSearch = result.runSearch;
  if (result.warnings?.length) report.warnings = result.warnings;
  if (result.rangeSearch) report.rangeSearch = result.rangeSearch;
  const methods = Object.fromEntries(
    Object.entries(result.ranges ?? {}).flatMap(([name, r]) => (r.method ? [[name, r.method]] : [])),
  );
  if (Object.keys(methods).length) {
    const counts: Record<string, number> = {};
    for (const m of Object.values(methods)) counts[m] = (counts[m] ?? 0) + 1;
    report.calibration = { counts, methods };
  }
  return report;
}

/** One stderr line per warning, naming the command-line setting that fixes it. */
export function warningLines(warnings: readonly QuantizeWarning[]): string[] {
  return warnings.map((w) => {
    const layers = w.layers.map((l) => `${l.layer} (${l.precision})`).join(', ');
    const fix = w.met
      ? `--min-sqnr ${w.floorDb} keeps ${w.layers.length} layer(s) out of int8 (${layers}) and reaches ${w.reachedSqnrDb.toFixed(1)} dB`
      : w.layers.length
        ? `--min-sqnr ${w.floorDb} does not reach it within its bounds: ${w.layers.length} layer(s) out of int8 (${layers}) reach ${w.reachedSqnrDb.toFixed(1)} dB; try --method auto, more calibration samples, or a smaller model part in int8 (--exclude)`
        : `no single layer measurably raises it, so --min-sqnr ${w.floorDb} would not help; try --method auto or more calibration samples`;
    return `edgeml quantize: warning: output SQNR ${w.sqnrDb.toFixed(1)} dB is under the ${w.floorDb} dB floor (--sqnr-floor); ${fix}`;
  });
}

/** The search's whole-model figures and how far the per-tensor steps took it. */
function rangeSearchLine(search: RangeSearchResult): string {
  const { wholeModel: whole, steps } = search;
  const kept = steps.filter((s) => s.kept).length;
  return `calibration chosen by output SQNR: whole model minmax ${fmtDb(whole.minmax)}, percentile ${fmtDb(whole.percentile)}, entropy ${fmtDb(whole.entropy)}, each tensor's own ${fmtDb(whole.local)} dB; from ${search.startedFrom === 'local' ? "each tensor's own" : search.startedFrom}, ${kept} of ${steps.length} tensor step(s) kept: ${fmtDb(search.sqnrDb)} dB`;
}

const fmtDb = (db: number | undefined) => (db === undefined ? '-' : Number.isFinite(db) ? db.toFixed(2) : String(db));

/** Lines of the human text report for the quality fields. */
export function qualityLines(r: QuantizeQualityReport): string[] {
  const lines: string[] = [];
  if (r.calibration)
    lines.push(
      `calibration auto: ${Object.entries(r.calibration.counts)
        .map(([m, n]) => `${m} ${n}`)
        .join(', ')} tensor(s)`,
    );
  if (r.rangeSearch) lines.push(rangeSearchLine(r.rangeSearch));
  if (r.mixedPrecision?.length)
    lines.push(
      'mixed precision (layers out of int8, cheapest per dB first):',
      ...r.mixedPrecision.map(
        (l) =>
          `  ${l.layer} (${l.opType}) -> ${l.precision}: +${fmtDb(l.gainDb)} dB alone${l.sqnrDbAfter === undefined ? '' : `, output ${fmtDb(l.sqnrDbAfter)} dB after`}`,
      ),
    );
  if (r.runSearch)
    lines.push(
      `int16 run search (runs of activations widened together): ${r.runSearch.measured} variant(s) measured, best ${fmtDb(r.runSearch.sqnrDb)} dB, short of --min-sqnr`,
    );
  if (r.sensitivity?.length)
    lines.push(
      `sensitivity (output SQNR gained keeping one layer out of int8, top ${r.sensitivity.length}):`,
      ...r.sensitivity.map(
        (s) =>
          `  ${s.layer} (${s.opType}${s.nodes.length > 1 ? ` +${s.nodes.length - 1}` : ''}) ${s.precision}: ${s.gainDb >= 0 ? '+' : ''}${fmtDb(s.gainDb)} dB (${(100 * s.noiseShare).toFixed(1)} % of the noise)`,
      ),
    );
  return lines;
}

const cell = (s: string) => s.replace(/\|/g, '\\|');
const table = (rows: string[][]) =>
  [rows[0], rows[0].map(() => '---'), ...rows.slice(1)].map((row) => `| ${row.map(cell).join(' | ')} |`).join('\n');

/** The Markdown quantization report (`--report file.md`): summary, warnings, mixed precision, sensitivity table. */
export function renderQuantizeMarkdown(
  summary: { input: string; output: string; mode: string; sizeBefore: number; sizeAfter: number; sqnrDb?: number },
  result: QuantizeResult,
  quality: QuantizeQualityReport,
): string {
  const out = [
    '# Quantization report',
    '',
    table([
      ['input', 'output', 'mode', 'size before', 'size after', 'output SQNR (dB)'],
      [
        summary.input,
        summary.output,
        summary.mode,
        String(summary.sizeBefore),
        String(summary.sizeAfter),
        summary.sqnrDb === undefined ? '-' : fmtDb(summary.sqnrDb),
      ],
    ]),
  ];
  if (quality.warnings?.length) out.push('', '## Warnings', '', ...warningLines(quality.warnings).map((l) => `- ${l}`));
  if (quality.mixedPrecision?.length)
    out.push(
      '',
      '## Mixed precision',
      '',
      table([
        ['layer', 'op', 'precision', 'gain alone (dB)', 'output SQNR after (dB)', 'cost'],
        ...quality.mixedPrecision.map((l) => [
          l.layer,
          l.opType,
          l.precision,
          fmtDb(l.gainDb),
          fmtDb(l.sqnrDbAfter),
          String(l.cost),
        ]),
      ]),
    );
  if (result.sensitivity?.length) out.push('', ...sensitivitySection(result.sensitivity));
  if (quality.calibration)
    out.push(
      '',
      '## Calibration method per tensor',
      '',
      table([['tensor', 'method'], ...Object.entries(quality.calibration.methods)]),
    );
  return out.join('\n') + '\n';
}

/** The Markdown per-layer sensitivity section: every measured candidate, most output SQNR gained first. */
function sensitivitySection(sensitivity: readonly LayerSensitivity[]): string[] {
  return [
    '## Per-layer sensitivity',
    '',
    'Output SQNR when only this layer leaves int8, everything else quantized with the same ranges; the estimate is the SQNR the layer loses between its inputs and its output in the all-int8 model (what ranked the candidates).',
    '',
    table([
      [
        'layer',
        'op',
        'nodes',
        'precision',
        'estimate (dB)',
        'output SQNR (dB)',
        'gain (dB)',
        'noise share',
        'speed cost',
        'size cost (bytes)',
      ],
      ...sensitivity.map((s) => [
        s.layer,
        s.opType,
        String(s.nodes.length),
        s.precision,
        fmtDb(s.estimatedLossDb),
        fmtDb(s.outputSqnrDb),
        fmtDb(s.gainDb),
        `${(100 * s.noiseShare).toFixed(1)} %`,
        String(s.speedCost),
        String(s.sizeCost),
      ]),
    ]),
  ];
}
