import { environmentLine, fmtMs, fmtSize, summaryTable, type BenchmarkReport } from './report-format.js';

const cell = (s: string) => s.replace(/\|/g, '\\|');
const table = (rows: string[][]) =>
  [rows[0], rows[0].map(() => '---'), ...rows.slice(1)].map((r) => `| ${r.map(cell).join(' | ')} |`).join('\n');

/** The report as Markdown: environment, summary table, targets, per-op profiles. */
export function renderMarkdown(report: BenchmarkReport): string {
  const out = [
    '# Benchmark',
    '',
    environmentLine(report.environment),
    '',
    table(summaryTable(report)),
    '',
    '## Targets',
    '',
  ];
  out.push(
    table([
      ['model', ...report.results[0].targets.map((t) => t.target)],
      ...report.results.map((r) => [
        r.model,
        ...r.targets.map(
          (t) =>
            `${t.met ? 'met' : 'missed'} (${t.target.endsWith('size') ? fmtSize(t.value) : `${fmtMs(t.value)} ms`})`,
        ),
      ]),
    ]),
  );
  for (const r of report.results) {
    if (!r.profile) continue;
    out.push(
      '',
      `## Profile: ${r.model}`,
      '',
      table([
        ['op type', 'time per run (µs)', 'share', 'calls/run'],
        ...r.profile.byOpType.map((o) => [
          o.opType,
          (o.totalUs / r.profile!.runs).toFixed(1),
          `${(100 * o.share).toFixed(1)}%`,
          (o.calls / r.profile!.runs).toFixed(0),
        ]),
      ]),
    );
  }
  return out.join('\n') + '\n';
}
