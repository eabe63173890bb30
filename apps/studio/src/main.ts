// EdgeML Studio's page: wiring of controls to the worker, and the comparison table.
import { CancelledError, StudioWorker } from './client.js';
import type {
  InputShapes,
  BenchRow,
  BenchSummary,
  DroppedFile,
  InspectSummary,
  QuantizationChoice,
  StudioRequest,
  VariantOutput,
} from './protocol.js';
import { ORT_WASM_FILES } from './ort-files.js';
import { fmtBytes, fmtMs, h, renderInspect, sizeSpeedChart } from './view.js';

interface Variant {
  label: string;
  bytes: Uint8Array;
  notes: string[];
  url: string;
  wasm?: BenchRow;
  webgpu?: BenchRow;
}

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const controls = ['simplify', 'quantize', 'prune', 'benchmark'].map((id) => $<HTMLButtonElement>(id));
const threads = crossOriginIsolated ? Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1)) : 1;
const worker = new StudioWorker({ kind: 'setup', wasmPaths: ORT_WASM_FILES, numThreads: threads });
const variants: Variant[] = [];
let modelName = 'model';
/** The shapes text the model was last inspected (or benchmarked) with. */
let inspectedShapes = '';

$('runtime').textContent =
  `onnxruntime-web wasm with ${threads} thread(s)${crossOriginIsolated ? '' : ' (this page is not cross-origin isolated, so no threads)'}; WebGPU is tried when the browser offers it.`;

function showError(e: unknown): void {
  const error = $('error');
  error.hidden = false;
  error.textContent = e instanceof CancelledError ? 'Cancelled.' : (e as Error).message;
}

/** Run one step in the worker with the progress bar and Cancel shown; the buttons wait meanwhile. */
async function step<T>(
  what: string,
  request: StudioRequest | (() => Promise<StudioRequest>),
  done: (result: T) => void,
): Promise<void> {
  $('error').hidden = true;
  $('status').textContent = `${what}…`;
  const progress = $<HTMLProgressElement>('progress');
  progress.removeAttribute('value');
  $('progress-note').textContent = '';
  $('busy').hidden = false;
  for (const b of controls) b.disabled = true;
  try {
    const result = await worker.run<T & VariantOutput>(
      typeof request === 'function' ? await request() : request,
      (n, total, note) => {
        progress.max = total;
        progress.value = n;
        $('progress-note').textContent = `${n} / ${total} ${note}`;
      },
    );
    done(result);
    $('status').textContent = `${what}: done.`;
  } catch (e) {
    $('status').textContent = `${what}: ${e instanceof CancelledError ? 'cancelled' : 'failed'}.`;
    showError(e);
  } finally {
    $('busy').hidden = true;
    for (const b of controls) b.disabled = variants.length === 0;
  }
}

/** "x=1x3x320x320, y=1x10" → { x: [1, 3, 320, 320], y: [1, 10] } (the CLI's --shape form). */
function inputShapes(): InputShapes {
  const text = $<HTMLInputElement>('shapes').value.trim();
  inspectedShapes = text;
  const entries = text ? text.split(/[,;\s]+/).filter(Boolean) : [];
  return Object.fromEntries(
    entries.map((entry) => {
      const match = /^([^=]+)=(\d+(?:x\d+)*)$/.exec(entry);
      if (!match) throw new Error(`Input shapes: '${entry}' is not name=1x3x224x224`);
      return [match[1], match[2].split('x').map(Number)];
    }),
  );
}

const slug = (s: string) =>
  s
    .replace(/[^a-z0-9]+/gi, '-')
    .replace(/^-|-$/g, '')
    .toLowerCase();

function addVariant(label: string, output: VariantOutput): void {
  let unique = label;
  for (let n = 2; variants.some((v) => v.label === unique); n++) unique = `${label} #${n}`;
  const url = URL.createObjectURL(new Blob([output.bytes as BlobPart], { type: 'application/octet-stream' }));
  variants.push({ label: unique, bytes: output.bytes, notes: output.notes, url });
  const base = $<HTMLSelectElement>('base');
  base.append(h('option', { value: String(variants.length - 1) }, unique));
  renderRows();
}

function targetsCell(row: BenchRow | undefined): Node {
  if (!row) return h('span', {}, '');
  return h(
    'span',
    {},
    ...row.targets.flatMap((t) => [
      h('span', { class: t.met ? 'met' : 'missed' }, `${t.target}: ${t.met ? 'met' : 'missed'}`),
      h('br'),
    ]),
  );
}

/** WebGPU's p50, or what ran instead: a session that cannot start on WebGPU falls back to wasm. */
function webgpuCell(row: BenchRow | undefined): string {
  if (!row) return '';
  return row.executionProvider === 'webgpu' ? fmtMs(row.p50) : `not run (${row.executionProvider} instead)`;
}

function renderRows(): void {
  const fmt = (v: number | undefined, f: (x: number) => string) => (v === undefined ? '' : f(v));
  $('rows').replaceChildren(
    ...variants.map((v) => {
      const r = v.wasm;
      const file = `${slug(modelName)}.${slug(v.label)}.onnx`;
      return h(
        'tr',
        {},
        h('th', { scope: 'row' }, v.label),
        h('td', { class: 'notes' }, v.notes.join('; ')),
        h('td', {}, fmtBytes(v.bytes.byteLength)),
        h('td', {}, fmt(r?.initMs, fmtMs)),
        h('td', {}, fmt(r?.p50, fmtMs)),
        h('td', {}, fmt(r?.p95, fmtMs)),
        h('td', {}, fmt(r?.p99, fmtMs)),
        h(
          'td',
          {},
          fmt(r?.speedup, (x) => `${x.toFixed(2)}×`),
        ),
        h('td', { 'data-field': 'max-abs-diff' }, r ? fmt(r.maxAbsDiff, (x) => x.toPrecision(4)) || 'baseline' : ''),
        h(
          'td',
          { 'data-field': 'cosine' },
          fmt(r?.cosine, (x) => x.toFixed(6)),
        ),
        h(
          'td',
          { 'data-field': 'top1' },
          fmt(r?.top1, (x) => `${(100 * x).toFixed(1)}%`),
        ),
        h('td', { class: 'notes' }, targetsCell(r)),
        h('td', {}, webgpuCell(v.webgpu)),
        h('td', {}, h('a', { href: v.url, download: file }, 'Download')),
      );
    }),
  );
}

$<HTMLInputElement>('model-file').addEventListener('change', (event) => {
  const file = (event.target as HTMLInputElement).files?.[0];
  if (!file) return;
  for (const v of variants.splice(0)) URL.revokeObjectURL(v.url);
  $('base').replaceChildren();
  $('charts').replaceChildren();
  $('report').hidden = $('report-link').hidden = true;
  modelName = file.name.replace(/\.onnx$/i, '');
  let bytes = new Uint8Array();
  void step<InspectSummary>(
    `Reading ${file.name}`,
    async () => {
      bytes = new Uint8Array(await file.arrayBuffer());
      return { kind: 'inspect', fileName: file.name, model: bytes, shapes: inputShapes() };
    },
    (summary) => {
      $('inspect').replaceChildren(renderInspect(summary));
      addVariant('original', { bytes, notes: ['as loaded'] });
    },
  );
});

const baseVariant = () => variants[Number($<HTMLSelectElement>('base').value) || 0];
const derivedLabel = (what: string) =>
  baseVariant().label === 'original' ? what : `${what} of ${baseVariant().label}`;

$('simplify').addEventListener('click', () => {
  const label = derivedLabel('simplified');
  void step<VariantOutput>('Simplifying', { kind: 'simplify', model: baseVariant().bytes }, (r) =>
    addVariant(label, r),
  );
});

$('quantize').addEventListener('click', () => {
  const mode = $<HTMLSelectElement>('quant-mode').value as QuantizationChoice;
  const label = derivedLabel(mode);
  const model = baseVariant().bytes;
  const files = [...($<HTMLInputElement>('calibration').files ?? [])];
  const reduceRange = $<HTMLInputElement>('reduce-range').checked;
  void step<VariantOutput>(
    `Quantizing (${mode})`,
    async () => {
      const calibration = await Promise.all(
        files.map(async (f): Promise<DroppedFile> => ({
          name: f.name,
          type: f.type,
          bytes: new Uint8Array(await f.arrayBuffer()),
        })),
      );
      return { kind: 'quantize', model, mode, calibration, reduceRange };
    },
    (r) => addVariant(label, r),
  );
});

$('prune').addEventListener('click', () => {
  const ratio = Number($<HTMLInputElement>('ratio').value);
  const label = derivedLabel(`pruned ${Math.round(ratio * 100)}%`);
  void step<VariantOutput>('Pruning channels', { kind: 'prune', model: baseVariant().bytes, ratio }, (r) =>
    addVariant(label, r),
  );
});

const runsInput = $<HTMLInputElement>('runs');
const describeRuns = () => ($('runs-note').textContent = `${runsInput.value || 0} timed runs per variant, interleaved`);
runsInput.addEventListener('input', describeRuns);
describeRuns();

$('benchmark').addEventListener('click', () => {
  const runs = Number(runsInput.value);
  const candidates = variants.map((v) => ({ label: v.label, bytes: v.bytes }));
  const request = async (): Promise<StudioRequest> => ({
    kind: 'benchmark',
    candidates,
    runs,
    agreementSamples: 8,
    shapes: inputShapes(),
  });
  void step<BenchSummary>('Benchmarking', request, (summary) => {
    for (const v of variants) {
      v.wasm = summary.rows.find((r) => r.label === v.label);
      v.webgpu = summary.rows.find((r) => r.label === `${v.label} (webgpu)`);
    }
    renderRows();
    $('runtime').textContent = `onnxruntime-web wasm with ${summary.threads} thread(s); ${summary.webgpu}.`;
    $('charts').replaceChildren(
      h('h3', {}, 'Size vs speed'),
      sizeSpeedChart(variants.flatMap((v) => (v.wasm ? [v.wasm] : []))),
    );
    const report = $<HTMLIFrameElement>('report');
    report.srcdoc = summary.reportHtml;
    report.hidden = false;
    const link = $<HTMLAnchorElement>('report-link');
    if (link.href) URL.revokeObjectURL(link.href);
    link.href = URL.createObjectURL(new Blob([summary.reportHtml], { type: 'text/html' }));
    link.download = `${slug(modelName)}.benchmark.html`;
    link.hidden = false;
  });
});

// New shapes change the MAC count: inspect the loaded model again (its variants stay).
$('shapes').addEventListener('change', () => {
  const original = variants[0];
  if (!original || worker.busy || $<HTMLInputElement>('shapes').value.trim() === inspectedShapes) return;
  void step<InspectSummary>(
    'Inspecting with the new input shapes',
    async () => ({ kind: 'inspect', fileName: `${modelName}.onnx`, model: original.bytes, shapes: inputShapes() }),
    (summary) => $('inspect').replaceChildren(renderInspect(summary)),
  );
});

$('cancel').addEventListener('click', () => worker.cancel());
