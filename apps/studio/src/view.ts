// Page side: rendering. Text goes in as text (never as HTML), so model names cannot inject markup.
import type { BenchRow, InspectSummary } from './protocol.js';

type Child = Node | string;

/** An element with attributes and children; `text` children become text nodes. */
export function h(tag: string, attributes: Record<string, string> = {}, ...children: Child[]): HTMLElement {
  const element = document.createElement(tag);
  for (const [k, v] of Object.entries(attributes)) element.setAttribute(k, v);
  element.append(...children);
  return element;
}

export const fmtBytes = (n: number): string =>
  n >= 1e6 ? `${(n / 1e6).toFixed(2)} MB` : n >= 1e3 ? `${(n / 1e3).toFixed(1)} kB` : `${n} B`;
export const fmtMs = (ms: number): string => (ms >= 100 ? ms.toFixed(1) : ms >= 1 ? ms.toFixed(2) : ms.toFixed(3));
const fmtInt = (n: number) => n.toLocaleString('en-US');

function definitionList(entries: [string, Child][]): HTMLElement {
  return h('dl', {}, ...entries.flatMap(([k, v]) => [h('dt', {}, k), h('dd', {}, v)]));
}

export function renderInspect(s: InspectSummary): HTMLElement {
  const io = (list: InspectSummary['inputs']) =>
    h('ul', {}, ...list.map((v) => h('li', {}, h('code', {}, v.name), ` ${v.type}`)));
  const top = Math.max(...s.opCounts.map(([, n]) => n), 1);
  const ops = h(
    'table',
    { class: 'ops' },
    h('caption', {}, 'Op histogram'),
    h(
      'tbody',
      {},
      ...s.opCounts.map(([op, n]) =>
        h(
          'tr',
          {},
          h('th', { scope: 'row' }, op),
          h('td', {}, String(n)),
          h('td', {}, h('span', { class: 'bar', style: `width:${(100 * n) / top}%` })),
        ),
      ),
    ),
  );
  const preparation = s.preparationError
    ? h('p', { class: 'error' }, s.preparationError)
    : s.preparation.length
      ? h('ul', {}, ...s.preparation.map((p) => h('li', {}, p)))
      : h('p', {}, 'nothing: the model is ready as it is');
  return h(
    'div',
    { class: 'inspect' },
    definitionList([
      ['file', s.fileName],
      ['size', `${fmtBytes(s.sizeBytes)} (${fmtInt(s.sizeBytes)} bytes)`],
      ['IR version', String(s.irVersion)],
      ['opsets', s.opsets.join(', ')],
      ['producer', s.producer],
      ['nodes', fmtInt(s.nodes)],
      ['parameters', `${fmtInt(s.parameters)} (${fmtBytes(s.parameterBytes)})`],
      [
        'MACs',
        s.macs === null
          ? 'unknown (no Conv/Gemm/MatMul with known shapes)'
          : `${fmtInt(s.macs)}${s.macsAtBatchOne ? ' (dynamic dimensions at 1)' : ''}${s.macsUnknownNodes ? ` (+${s.macsUnknownNodes} nodes of unknown shape)` : ''}`,
      ],
      ['inputs', io(s.inputs)],
      ['outputs', io(s.outputs)],
    ]),
    h('h3', {}, 'Preparation quantization and pruning would do first'),
    preparation,
    ops,
  );
}

/** Size (y) against p50 latency (x), one labelled point per variant. */
export function sizeSpeedChart(rows: BenchRow[]): SVGSVGElement {
  const W = 560,
    H = 280,
    pad = { l: 70, r: 20, t: 16, b: 40 };
  const maxX = Math.max(...rows.map((r) => r.p50)) * 1.1 || 1;
  const maxY = Math.max(...rows.map((r) => r.sizeBytes)) * 1.1 || 1;
  const x = (v: number) => pad.l + (v / maxX) * (W - pad.l - pad.r);
  const y = (v: number) => H - pad.b - (v / maxY) * (H - pad.t - pad.b);
  const ns = 'http://www.w3.org/2000/svg';
  const el = (tag: string, attributes: Record<string, string | number>, text?: string) => {
    const e = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attributes)) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = text;
    return e;
  };
  const svg = el('svg', {
    viewBox: `0 0 ${W} ${H}`,
    width: W,
    height: H,
    role: 'img',
    'aria-label': 'size vs speed',
    'data-chart': 'size-speed',
  }) as SVGSVGElement;
  svg.append(
    el('rect', {
      x: pad.l,
      y: pad.t,
      width: W - pad.l - pad.r,
      height: H - pad.t - pad.b,
      fill: '#fafafa',
      stroke: '#ddd',
    }),
    el('text', { x: (W + pad.l) / 2, y: H - 8, 'text-anchor': 'middle' }, 'p50 latency (ms)'),
    el('text', { x: 12, y: pad.t + 10 }, fmtBytes(maxY / 1.1)),
    el('text', { x: pad.l, y: H - pad.b + 16, 'text-anchor': 'middle' }, '0'),
    el('text', { x: x(maxX / 1.1), y: H - pad.b + 16, 'text-anchor': 'middle' }, fmtMs(maxX / 1.1)),
  );
  rows.forEach((r, i) => {
    const color = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2'][i % 6];
    const point = el('circle', {
      class: 'point',
      cx: x(r.p50).toFixed(1),
      cy: y(r.sizeBytes).toFixed(1),
      r: 6,
      fill: color,
    });
    point.append(el('title', {}, `${r.label}: ${fmtMs(r.p50)} ms, ${fmtBytes(r.sizeBytes)}`));
    svg.append(point, el('text', { x: (x(r.p50) + 9).toFixed(1), y: (y(r.sizeBytes) + 4).toFixed(1) }, r.label));
  });
  return svg;
}
