import type { BenchmarkEnvironment } from './environment.js';
import type { BenchmarkResult } from './benchmark.js';
import type { ComparisonResult } from './compare.js';

/** What every report renders: the machine and one result per candidate. */
export interface BenchmarkReport {
  environment: BenchmarkEnvironment;
  results: (BenchmarkResult | ComparisonResult)[];
}

export const fmtMs = (ms: number): string => (ms >= 100 ? ms.toFixed(1) : ms >= 1 ? ms.toFixed(2) : ms.toFixed(3));

export function fmtSize(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(2)} MB`;
  if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(1)} kB`;
  return `${bytes} B`;
}

export function isComparison(r: BenchmarkResult | ComparisonResult): r is ComparisonResult {
  return 'speedup' in r;
}

/** Worst agreement over a candidate's outputs, as short text. */
export function agreementSummary(r: BenchmarkResult | ComparisonResult): string {
  if (!isComparison(r)) return '';
  if (!r.agreement) return 'baseline';
  const maxDiff = Math.max(...r.agreement.map((a) => a.maxAbsDiff));
  const cos = Math.min(...r.agreement.map((a) => a.cosineSimilarity));
  const top1 = r.agreement.map((a) => a.top1Agreement).filter((x): x is number => x !== undefined);
  const byPosition = r.ioByPosition ? ' (I/O matched by position)' : '';
  return `max|Δ| ${maxDiff.toPrecision(3)}, cos ${cos.toFixed(5)}${top1.length ? `, top-1 ${(100 * Math.min(...top1)).toFixed(1)}%` : ''}${byPosition}`;
}

/** The summary table: header plus one row per result, shared by the terminal and Markdown renderers. */
export function summaryTable(report: BenchmarkReport): string[][] {
  const compared = report.results.some(isComparison);
  const header = [
    'model',
    'backend',
    'size',
    'init ms',
    'p50 ms',
    'p90 ms',
    'p99 ms',
    'mean ± std ms',
    'inf/s',
    'peak RSS',
    ...(compared ? ['speed-up', 'size ratio', 'agreement'] : []),
  ];
  const rows = report.results.map((r) => [
    r.model,
    `${r.backend}${r.threads !== undefined ? ` (${r.threads}t)` : ''}`,
    fmtSize(r.sizeBytes),
    fmtMs(r.initMs),
    fmtMs(r.latencyMs.p50),
    fmtMs(r.latencyMs.p90),
    fmtMs(r.latencyMs.p99),
    `${fmtMs(r.latencyMs.mean)} ± ${fmtMs(r.latencyMs.std)}`,
    r.throughputPerSec.toFixed(1),
    fmtSize(r.peakRssBytes),
    ...(isComparison(r)
      ? [`${r.speedup.toFixed(2)}×`, `${r.sizeRatio.toFixed(2)}×`, agreementSummary(r)]
      : compared
        ? ['', '', '']
        : []),
  ]);
  return [header, ...rows];
}

export function environmentLine(env: BenchmarkEnvironment): string {
  return `${env.cpuModel}, ${env.cores} cores${env.cpuFlags.length ? ` (${env.cpuFlags.join(' ')})` : ''}; ${env.os} ${env.arch}; Node ${env.node}`;
}
