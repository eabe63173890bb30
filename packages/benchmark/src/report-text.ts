import { environmentLine, fmtMs, fmtSize, summaryTable, type BenchmarkReport } from './report-format.js';

function alignedTable(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(rows[0]), line(widths.map((w) => '-'.repeat(w))), ...rows.slice(1).map(line)].join('\n');
}

/** The report as a plain-text table for a terminal. */
export function renderText(report: BenchmarkReport): string {
  const parts = [environmentLine(report.environment), '', alignedTable(summaryTable(report))];
  for (const r of report.results) {
    const missed = r.targets
      .filter((t) => !t.met)
      .map(
        (t) =>
          `${t.target} (${t.target.endsWith('size') ? fmtSize(t.value) : `${fmtMs(t.value)} ms`} ≥ ${t.target.endsWith('size') ? fmtSize(t.limit) : `${t.limit} ms`})`,
      );
    parts.push(
      '',
      `${r.model}: targets ${missed.length ? `missed: ${missed.join(', ')}` : 'all met'}; first run ${fmtMs(r.firstRunMs)} ms, harness ${fmtMs(r.harnessOverheadMs * 1000)} µs/run`,
    );
    if (r.profile) {
      parts.push(
        `  top ops: ${r.profile.byOpType
          .slice(0, 5)
          .map((o) => `${o.opType} ${(100 * o.share).toFixed(1)}%`)
          .join(', ')}`,
      );
    } else if (r.profileUnavailable) parts.push(`  no profile: ${r.profileUnavailable}`);
  }
  return parts.join('\n') + '\n';
}
