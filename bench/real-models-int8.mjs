#!/usr/bin/env node
/**
 * Static int8 on the real-model suite (scripts/real-models.json), as a user gets it: each model
 * quantized by `edgeml quantize --mode static` on its calibration samples, then float against
 * int8 timed interleaved on onnxruntime-node and on onnxruntime-web's wasm runtime (in Node),
 * one thread, on the held-out sample, with size, output fidelity on that sample (worst output's
 * SQNR and cosine) and the int8 model's Q/DQ share of profiled kernel time (onnxruntime-node).
 * With --forms it also times other forms (hybrid, dynamic) of chosen models side by side.
 * The tables go into docs/benchmarks.md between their generated-section markers.
 *
 *   pnpm vitest run tests/real-models.test.ts    # once: writes .tmp/real-models/<id>/{calibration,held-out}
 *   node bench/real-models-int8.mjs [--data .tmp/real-models] [--seconds 4] [--only id,...] [--forms ppocr-v4-rec] [--no-write]
 *
 * Re-runnable: placement changes show up as new figures; nothing is cached between runs.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import * as prettier from 'prettier';
import { checkSpeedup, compare } from '@edgeml/benchmark';
import { decodeNpy, measureFidelity } from '@edgeml/core';
import { NodeBackend } from '@edgeml/runtime-node';
import { WebBackend } from '@edgeml/runtime-web';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const { values: args } = parseArgs({
  options: {
    data: { type: 'string', default: path.join(root, '.tmp/real-models') },
    seconds: { type: 'string', default: '4' },
    only: { type: 'string' },
    forms: { type: 'string', default: 'ppocr-v4-rec' },
    'no-write': { type: 'boolean' },
  },
});
const durationMs = Number(args.seconds) * 1000;
const CLI = path.join(root, 'packages/cli/dist/bin.js');
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-int8-'));
const node = new NodeBackend();
const wasm = new WebBackend({ numThreads: 1 });

/** The cached model files, checked by the fetch script. */
function suiteFiles() {
  const r = spawnSync(process.execPath, [path.join(root, 'scripts/fetch-models.mjs'), '--check', '--json'], {
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`model cache missing or stale; run node scripts/fetch-models.mjs\n${r.stderr}`);
  return JSON.parse(r.stdout).files;
}

/** `edgeml quantize` as a user runs it; the report, or the one-line refusal. */
function quantizeCli(file, out, mode, calibration) {
  const argv = [CLI, 'quantize', file, '-o', out, '--mode', mode, '--no-speed-check', '--json'];
  if (mode !== 'dynamic') argv.push('--calibration', calibration);
  const r = spawnSync(process.execPath, argv, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status === 0) return { report: JSON.parse(r.stdout) };
  return { refused: r.stderr.split('\n').find((l) => l.trim()) ?? `exit ${r.status}` };
}

/** The held-out sample: one `<input>.npy` per input. */
function heldOut(dir) {
  const folder = path.join(dir, 'held-out');
  return Object.fromEntries(
    fs
      .readdirSync(folder)
      .filter((f) => f.endsWith('.npy'))
      .map((f) => [f.slice(0, -4), decodeNpy(fs.readFileSync(path.join(folder, f)), f)]),
  );
}

/** Worst output's SQNR and cosine of `int8` against `float` on the sample (onnxruntime-node). */
async function fidelity(float, int8, sample) {
  const outputs = [];
  for (const file of [float, int8]) {
    const s = await node.createSession(file, { intraOpThreads: 1 });
    const feeds = Object.fromEntries(s.inputs.map((i) => [i.name, sample[i.name]]));
    outputs.push(await s.run(feeds));
    await s.dispose();
  }
  const f = measureFidelity([outputs[0]], [outputs[1]]);
  return {
    sqnrDb: Math.min(...f.map((x) => x.sqnrDb)),
    cosine: Math.min(...f.map((x) => x.cosineSimilarity)),
  };
}

/** Float against int8 on one runtime; failures as text. */
async function timed(float, int8, sample, backend, profileBackend) {
  try {
    return await checkSpeedup(float, int8, { backend, profileBackend, durationMs, inputs: { values: sample } });
  } catch (e) {
    return {
      error: String(e.message ?? e)
        .split('\n')[0]
        .slice(0, 200),
    };
  }
}

async function measureModel(model, file) {
  const dir = path.join(args.data, model.id);
  if (!fs.existsSync(path.join(dir, 'calibration')))
    return { id: model.id, note: `no samples in ${dir} (run pnpm vitest run tests/real-models.test.ts)` };
  const out = path.join(work, `${model.id}.int8.onnx`);
  const q = quantizeCli(file, out, 'static', path.join(dir, 'calibration'));
  if (q.refused) return { id: model.id, note: q.refused };
  const sample = heldOut(dir);
  const row = { id: model.id, sizeRatio: fs.statSync(file).size / fs.statSync(out).size };
  Object.assign(row, await fidelity(file, out, sample));
  row.node = await timed(file, out, sample, node);
  // onnxruntime-web has no profiler: the why of a slower wasm run comes from onnxruntime-node's.
  row.wasm = await timed(file, out, sample, wasm, node);
  process.stderr.write(`${model.id}: node ${fmtX(row.node.speedup)}, wasm ${fmtX(row.wasm.speedup)}\n`);
  return row;
}

/** Every form of one model, timed side by side with float on each runtime. */
async function measureForms(model, file) {
  const dir = path.join(args.data, model.id);
  const sample = heldOut(dir);
  const forms = [];
  for (const mode of ['static', 'hybrid', 'dynamic']) {
    const out = path.join(work, `${model.id}.${mode}.onnx`);
    const q = quantizeCli(file, out, mode, path.join(dir, 'calibration'));
    if (q.refused) forms.push({ mode, note: q.refused });
    else forms.push({ mode, out, ...(await fidelity(file, out, sample)) });
  }
  const built = forms.filter((f) => f.out);
  const floatP50 = {};
  for (const [name, backend] of [
    ['node', node],
    ['wasm', wasm],
  ]) {
    const { results } = await compare(
      [file, ...built.map((f) => f.out)].map((m) => ({ model: m })),
      {
        backend,
        threads: 1,
        durationMs: durationMs * (built.length + 1),
        warmup: 3,
        inputs: { values: sample },
        agreementSamples: 1,
      },
    );
    built.forEach((f, i) => (f[name] = { p50: results[i + 1].latencyMs.p50, speedup: results[i + 1].speedup }));
    floatP50[name] = results[0].latencyMs.p50;
  }
  return { id: model.id, forms, floatP50 };
}

const fmtX = (x) => (x === undefined ? '—' : `${x.toFixed(2)}×`);
const fmtMs = (x) => (x === undefined ? '—' : `${x.toFixed(x < 10 ? 2 : 1)} ms`);
const fmtPct = (x) => (x === undefined ? '—' : `${(x * 100).toFixed(0)} %`);
const fmtDb = (x) => (Number.isFinite(x) ? `${x.toFixed(1)} dB` : x > 0 ? 'exact' : '—');
const esc = (s) => String(s).replace(/\|/g, '\\|').replace(/\s+/g, ' ');

function runtimeCells(t) {
  if (!t) return ['—', '—', '—'];
  if (t.error) return [`fails: ${esc(t.error)}`, '', ''];
  return [fmtMs(t.floatP50Ms), fmtMs(t.quantizedP50Ms), fmtX(t.speedup)];
}

function suiteTable(rows, versions) {
  const notes = [];
  const head = ['model', 'node float', 'node int8', 'node speed-up', 'wasm float', 'wasm int8', 'wasm speed-up'];
  const lines = [
    `| ${[...head, 'size', 'SQNR', 'cosine', 'Q/DQ share', 'why slower / note'].join(' | ')} |`,
    `|${' --- |'.repeat(head.length + 5)}`,
  ];
  for (const r of rows) {
    if (r.note) {
      notes.push(r.note);
      lines.push(`| ${r.id} |${' — |'.repeat(head.length + 3)} not quantized [${notes.length}] |`);
      continue;
    }
    // The main cause per runtime (`edgeml quantize` prints them all).
    const why = [r.node, r.wasm]
      .filter((t) => t.reason || t.error)
      .map((t) => (t.error ? `fails: ${t.error}` : `${t.runtime}: ${t.reason.split('; ')[0]}`));
    if (why.length) notes.push(why.join('; '));
    const cells = [r.id, ...runtimeCells(r.node), ...runtimeCells(r.wasm), `${r.sizeRatio.toFixed(2)}× smaller`];
    cells.push(fmtDb(r.sqnrDb), r.cosine.toFixed(4), fmtPct(r.node.qdqShare), why.length ? `[${notes.length}]` : '');
    lines.push(`| ${cells.map(esc).join(' | ')} |`);
  }
  return [
    `Measured at ${versions}. p50 of interleaved runs (${args.seconds} s per pair, 1 thread) on the held-out sample.`,
    '',
    ...lines,
    '',
    ...notes.map((n, i) => `${i + 1}. ${esc(n)}`),
  ].join('\n');
}

function formsTable(sets, versions) {
  const lines = [
    '| model | form | node p50 | node speed-up | wasm p50 | wasm speed-up | SQNR | cosine |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const s of sets) {
    lines.push(`| ${s.id} | float | ${fmtMs(s.floatP50.node)} | 1.00× | ${fmtMs(s.floatP50.wasm)} | 1.00× | | |`);
    for (const f of s.forms)
      lines.push(
        f.note
          ? `| ${s.id} | ${f.mode} | ${esc(f.note)} | | | | | |`
          : `| ${s.id} | ${f.mode} | ${fmtMs(f.node.p50)} | ${fmtX(f.node.speedup)} | ${fmtMs(f.wasm.p50)} | ${fmtX(f.wasm.speedup)} | ${fmtDb(f.sqnrDb)} | ${f.cosine.toFixed(4)} |`,
      );
  }
  return [
    `Measured at ${versions}. All forms of a model and its float original interleaved in one loop per runtime (1 thread).`,
    '',
    ...lines,
  ].join('\n');
}

/** Replace what stands between `name`'s markers in docs/benchmarks.md. */
function splice(doc, name, body) {
  const start = `<!-- generated by bench/real-models-int8.mjs (${name}): edits between these markers are overwritten -->`;
  const end = `<!-- end of ${name} -->`;
  const [before, rest] = doc.split(start);
  const after = rest?.split(end)[1];
  if (after === undefined) throw new Error(`docs/benchmarks.md lacks the markers:\n${start}\n${end}`);
  return `${before}${start}\n\n${body}\n\n${end}${after}`;
}

function versions() {
  const git = (...a) => spawnSync('git', a, { cwd: root, encoding: 'utf8' }).stdout.trim();
  const dirty = git('status', '--porcelain', '--untracked-files=no') ? ' (with uncommitted changes)' : '';
  return `${git('rev-parse', '--short', 'HEAD')}${dirty}, onnxruntime-node ${node.version}, onnxruntime-web ${wasm.version}, Node ${process.version}`;
}

const manifest = JSON.parse(fs.readFileSync(path.join(root, 'scripts/real-models.json'), 'utf8'));
const files = suiteFiles();
const only = args.only?.split(',');
const models = manifest.models.filter((m) => !only || only.includes(m.id));
await node.init();
await wasm.init();
const rows = [];
for (const m of models) rows.push(await measureModel(m, files[m.id]));
const formSets = [];
for (const id of args.forms ? args.forms.split(',') : [])
  formSets.push(
    await measureForms(
      manifest.models.find((m) => m.id === id),
      files[id],
    ),
  );
const stamp = versions();
fs.mkdirSync(path.join(root, '.tmp'), { recursive: true });
fs.writeFileSync(path.join(root, '.tmp/real-models-int8.json'), JSON.stringify({ stamp, rows, formSets }, null, 1));
const suite = suiteTable(rows, stamp);
const formsText = formsTable(formSets, stamp);
console.log(`${suite}\n\n${formsText}`);
if (!args['no-write']) {
  const docFile = path.join(root, 'docs/benchmarks.md');
  let doc = splice(fs.readFileSync(docFile, 'utf8'), 'suite', suite);
  if (formSets.length) doc = splice(doc, 'forms', formsText);
  const options = (await prettier.resolveConfig(docFile)) ?? {};
  fs.writeFileSync(docFile, await prettier.format(doc, { ...options, filepath: docFile }));
  console.error(`wrote ${docFile}`);
}
fs.rmSync(work, { recursive: true, force: true });
