/**
 * Static int8 (defaults, no mixed precision) of PaddleOCR's three models judged on text set in
 * real fonts by Chromium (bench/rendered-text.mjs), as an OCR pipeline uses them:
 *  - detector: IoU of the text mask (probability > 0.3) with float's, 320 × 320 pages;
 *  - recognizer: character accuracy against the text set, float and int8, 48 × 320 lines;
 *  - direction classifier: top-1 agreement with float, and both against the truth, on 48 × 192
 *    lines upright and turned 180°.
 * Calibration and held-out samples never share a seed. Run: node bench/ocr-rendered.mjs
 * (HELD_OUT=n held-out pages/lines, default 16 pages and 200 lines; ONLY=det|rec|cls one model).
 */
import * as path from 'node:path';
import { Tensor, editDistance } from '@edgeml/core';
import { loadModel } from '@edgeml/core/node';
import { NodeBackend } from '@edgeml/runtime-node';
import { assets, ctcDecode } from './ocr-models.mjs';
import { quantize } from '@edgeml/quantize';
import { compare } from '@edgeml/benchmark';
import { renderLines, renderPages } from './rendered-text.mjs';

const backend = new NodeBackend();
const held = (n) => Number(process.env.HELD_OUT ?? n);

function tensor(grey, height, width, mean, std, turned = false) {
  const n = height * width;
  const out = new Float32Array(3 * n);
  for (let c = 0; c < 3; c++)
    for (let i = 0; i < n; i++) out[c * n + i] = (grey[turned ? n - 1 - i : i] / 255 - mean[c]) / std[c];
  return Tensor.from('float32', [1, 3, height, width], out);
}

async function outputsOf(model, samples) {
  const session = await backend.createSession(model, { intraOpThreads: 1 });
  const out = [];
  for (const { x } of samples) out.push(Object.values(await session.run({ x }))[0]);
  await session.dispose();
  return out;
}

/** The float model, and its static int8 with the defaults (minmax) and with `method: 'auto'` (chosen by output SQNR). */
async function int8Of(file, calibration) {
  const float = await loadModel(path.join(assets, file));
  const options = { mode: 'static', calibrationData: calibration, backend, sqnrFloorDb: false };
  const defaults = await quantize(float, options);
  const started = Date.now();
  // The search judges on the calibration samples, as `edgeml quantize --method auto` does.
  const auto = await quantize(float, { ...options, method: 'auto', evaluationData: calibration });
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  return [
    float,
    defaults.model,
    auto.model,
    `${auto.rangeSearch.steps.filter((s) => s.kept).length} steps kept, ${seconds} s`,
  ];
}

async function detector() {
  const pages = await renderPages(8 + held(16), 0, 320);
  const x = pages.map(({ grey }) => ({ x: tensor(grey, 320, 320, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]) }));
  const [float, int8, auto, search] = await int8Of('ch_PP-OCRv4_det_infer.onnx', x.slice(0, 8));
  const p = await outputsOf(float, x.slice(8));
  const iou = async (model) => {
    const q = await outputsOf(model, x.slice(8));
    let both = 0,
      either = 0;
    p.forEach((t, k) =>
      t.data.forEach((v, i) => {
        both += v > 0.3 && q[k].data[i] > 0.3 ? 1 : 0;
        either += v > 0.3 || q[k].data[i] > 0.3 ? 1 : 0;
      }),
    );
    return `text-mask IoU with float ${(both / either).toFixed(3)}`;
  };
  // Speed, interleaved run by run on one held-out page: the search changes ranges, not the graph.
  const { results } = await compare(
    [float, int8, auto].map((model, i) => ({ model, label: ['float', 'int8', 'auto'][i] })),
    { backend, runs: 60, warmup: 10, threads: 1, inputs: { values: x[8] } },
  );
  const speed = (r) =>
    `${r.latencyMs.p50.toFixed(1)} ms, ${r.speedup.toFixed(2)}× float's ${results[0].latencyMs.p50.toFixed(1)} ms`;
  return `PP-OCRv4 det | ${pages.length - 8} pages | ${await iou(int8)}; ${speed(results[1])} | ${await iou(auto)} (${search}); ${speed(results[2])}`;
}

async function recognizer() {
  const lines = await renderLines(16 + held(200), 0, 320);
  const x = lines.map(({ grey, text }) => ({ x: tensor(grey, 48, 320, [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]), text }));
  const [float, int8, auto, search] = await int8Of(
    'ch_PP-OCRv4_rec_infer.onnx',
    x.slice(0, 16).map(({ x: t }) => ({ x: t })),
  );
  const heldOut = x.slice(16);
  const accuracy = async (m) => {
    const out = await outputsOf(m, heldOut);
    let errors = 0,
      chars = 0;
    out.forEach((t, k) => {
      errors += editDistance(ctcDecode(t).trim(), heldOut[k].text);
      chars += heldOut[k].text.length;
    });
    return (100 * (1 - errors / chars)).toFixed(1);
  };
  const floatAccuracy = await accuracy(float);
  return `PP-OCRv4 rec | ${heldOut.length} lines | character accuracy float ${floatAccuracy} %, int8 ${await accuracy(int8)} % | int8 ${await accuracy(auto)} % (${search})`;
}

async function classifier() {
  const lines = await renderLines(16 + held(200), 100_000, 192);
  const x = lines.flatMap(({ grey }) =>
    [false, true].map((t) => ({ x: tensor(grey, 48, 192, [0.5, 0.5, 0.5], [0.5, 0.5, 0.5], t), t })),
  );
  const [float, int8, auto, search] = await int8Of(
    'ch_ppocr_mobile_v2.0_cls_infer.onnx',
    x.slice(0, 32).map(({ x: t }) => ({ x: t })),
  );
  const heldOut = x.slice(32);
  const p = await outputsOf(float, heldOut);
  const turned = (t) => t.data[1] > t.data[0];
  const count = (f) => heldOut.filter((_, k) => f(k)).length;
  const pct = (n) => ((100 * n) / heldOut.length).toFixed(1);
  const floatRight = count((k) => turned(p[k]) === heldOut[k].t);
  const fidelity = async (model) => {
    const q = await outputsOf(model, heldOut);
    const agree = count((k) => turned(p[k]) === turned(q[k]));
    const right = count((k) => turned(q[k]) === heldOut[k].t);
    return `top-1 agreement ${pct(agree)} %; correct: float ${pct(floatRight)} %, int8 ${pct(right)} %`;
  };
  return `PP-OCR mobile v2 cls | ${heldOut.length} images | ${await fidelity(int8)} | ${await fidelity(auto)} (${search})`;
}

console.log('| model | held out | static int8 (defaults: minmax) | static int8, method auto (chosen by output SQNR) |');
console.log('| ----- | -------- | ------------------------------ | ------------------------------------------------ |');
// ONLY=det (or rec, cls) runs one model.
const runs = { det: detector, rec: recognizer, cls: classifier };
for (const [name, run] of Object.entries(runs))
  if (!process.env.ONLY || process.env.ONLY === name) console.log(`| ${await run()} |`);
