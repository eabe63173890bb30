import type { BenchmarkResult } from './benchmark.js';
import { environmentLine, fmtMs, fmtSize, summaryTable, type BenchmarkReport } from './report-format.js';
import { histogram } from './statistics.js';

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
const PALETTE = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2'];
const W = 560,
  H = 260,
  PAD = { l: 56, r: 48, t: 16, b: 40 };

function axisTicks(min: number, max: number, n = 5): number[] {
  const step = (max - min) / n || 1;
  return Array.from({ length: n + 1 }, (_, i) => min + i * step);
}

/** Histogram bars (left axis: runs) with the empirical CDF over them (right axis: share). */
function latencyChart(r: BenchmarkResult, color: string): string {
  const samples = r.samplesMs;
  const bins = Math.max(5, Math.min(40, Math.ceil(Math.sqrt(samples.length))));
  const { edges, counts } = histogram(samples, bins);
  const [lo, hi] = [edges[0], edges[edges.length - 1]];
  const peak = Math.max(...counts, 1);
  const pw = W - PAD.l - PAD.r,
    ph = H - PAD.t - PAD.b;
  const x = (ms: number) => PAD.l + ((ms - lo) / (hi - lo || 1)) * pw;
  const y = (share: number) => PAD.t + ph * (1 - share);
  const bars = counts
    .map(
      (c, i) =>
        `<rect class="bar" x="${x(edges[i]).toFixed(1)}" y="${y(c / peak).toFixed(1)}" width="${Math.max(1, x(edges[i + 1]) - x(edges[i]) - 1).toFixed(1)}" height="${((ph * c) / peak).toFixed(1)}" fill="${color}" fill-opacity="0.35"><title>${fmtMs(edges[i])}–${fmtMs(edges[i + 1])} ms: ${c} runs</title></rect>`,
    )
    .join('');
  const sorted = [...samples].sort((a, b) => a - b);
  const cdf = sorted.map((v, i) => `${x(v).toFixed(1)},${y((i + 1) / sorted.length).toFixed(1)}`).join(' ');
  const xTicks = axisTicks(lo, hi)
    .map((v) => `<text x="${x(v).toFixed(1)}" y="${H - PAD.b + 16}" text-anchor="middle">${fmtMs(v)}</text>`)
    .join('');
  const yTicks = [0, 0.5, 1]
    .map(
      (s) =>
        `<text x="${PAD.l - 6}" y="${(y(s) + 4).toFixed(1)}" text-anchor="end">${Math.round(s * peak)}</text><text x="${W - PAD.r + 6}" y="${(y(s) + 4).toFixed(1)}">${s * 100}%</text>`,
    )
    .join('');
  const p = r.latencyMs;
  const marks = (['p50', 'p90', 'p99'] as const)
    .map(
      (k) =>
        `<line class="pct" x1="${x(p[k]).toFixed(1)}" x2="${x(p[k]).toFixed(1)}" y1="${PAD.t}" y2="${PAD.t + ph}" stroke="#555" stroke-dasharray="3 3"/><text x="${(x(p[k]) + 3).toFixed(1)}" y="${PAD.t + 10}" font-size="10">${k}</text>`,
    )
    .join('');
  return `<svg data-chart="latency" data-model="${esc(r.model)}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="latency histogram and CDF of ${esc(r.model)}">
<rect x="${PAD.l}" y="${PAD.t}" width="${pw}" height="${ph}" fill="#fafafa" stroke="#ddd"/>${bars}${marks}
<polyline class="cdf" points="${cdf}" fill="none" stroke="${color}" stroke-width="2"/>${xTicks}${yTicks}
<text x="${PAD.l + pw / 2}" y="${H - 6}" text-anchor="middle">latency (ms)</text></svg>`;
}

/** Horizontal bars: share of kernel time per op type. */
function profileChart(r: BenchmarkResult, color: string): string {
  const ops = r.profile!.byOpType.slice(0, 12);
  const rowH = 20,
    h = PAD.t + ops.length * rowH + 24,
    label = 130,
    pw = W - label - 70;
  const top = Math.max(...ops.map((o) => o.share), 1e-9);
  const rows = ops
    .map((o, i) => {
      const yy = PAD.t + i * rowH;
      const w = Math.max(1, (o.share / top) * pw);
      return `<text x="${label - 6}" y="${yy + 14}" text-anchor="end">${esc(o.opType)}</text><rect class="bar" x="${label}" y="${yy + 3}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${color}"><title>${esc(o.opType)}: ${(o.totalUs / r.profile!.runs).toFixed(1)} µs per run</title></rect><text x="${(label + w + 6).toFixed(1)}" y="${yy + 14}">${(100 * o.share).toFixed(1)}%</text>`;
    })
    .join('');
  return `<svg data-chart="profile" data-model="${esc(r.model)}" viewBox="0 0 ${W} ${h}" width="${W}" height="${h}" role="img" aria-label="kernel time per op type of ${esc(r.model)}">${rows}<text x="${label}" y="${h - 6}">share of kernel time (${(r.profile!.kernelUsPerRun / 1000).toFixed(3)} ms per run)</text></svg>`;
}

/**
 * The report as one self-contained HTML page (inline CSS and SVG, no scripts, nothing fetched):
 * the comparison table, a latency histogram with its CDF per candidate, targets, and per-op
 * profile charts. Opens offline and in any browser.
 */
export function renderHtml(report: BenchmarkReport, title = 'EdgeML benchmark'): string {
  const [header, ...rows] = summaryTable(report);
  const table = `<table><thead><tr>${header.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
  const sections = report.results
    .map((r, i) => {
      const color = PALETTE[i % PALETTE.length];
      const targets = r.targets
        .map(
          (t) =>
            `<li class="${t.met ? 'met' : 'missed'}">${esc(t.target)}: ${t.met ? 'met' : 'missed'} (${t.target.endsWith('size') ? `${fmtSize(t.value)} vs ${fmtSize(t.limit)}` : `${fmtMs(t.value)} ms vs ${t.limit} ms`})</li>`,
        )
        .join('');
      const profile = r.profile
        ? `<h3>Kernel time by op type</h3>${profileChart(r, color)}`
        : r.profileUnavailable
          ? `<p>No profile: ${esc(r.profileUnavailable)}</p>`
          : '';
      return `<section><h2 style="color:${color}">${esc(r.model)}</h2><p>${esc(r.backend)}${r.backendVersion ? ` ${esc(r.backendVersion)}` : ''}, ${r.runs} runs after ${r.warmupRuns} warm-up; init ${fmtMs(r.initMs)} ms, first run ${fmtMs(r.firstRunMs)} ms</p>${latencyChart(r, color)}<ul class="targets">${targets}</ul>${profile}</section>`;
    })
    .join('\n');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title><style>
body{font:14px system-ui,sans-serif;margin:24px;color:#111}table{border-collapse:collapse;margin:12px 0}th,td{border:1px solid #ddd;padding:4px 8px;text-align:right}th:first-child,td:first-child{text-align:left}
th{background:#f3f4f6}svg{display:block;margin:8px 0;font-size:11px}section{margin-top:24px}.met{color:#166534}.missed{color:#991b1b}.env{color:#555}
</style></head><body><h1>${esc(title)}</h1><p class="env">${esc(environmentLine(report.environment))}</p>${table}
${sections}</body></html>`;
}
