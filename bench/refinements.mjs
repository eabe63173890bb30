/**
 * Static int8 with and without the accuracy refinements (cross-layer equalization, bias
 * correction, SmoothQuant) on the real-model suite, per-channel and per-tensor weights: output
 * SQNR against float on the calibration samples (what `edgeml quantize --json` reports as
 * sqnrDb), and held out: each of the suite's five samples quantized without it (calibrated on
 * the other four) and its outputs compared, the SQNR taken over all five. No timing: the
 * figures are deterministic.
 *
 * Needs the model cache (node scripts/fetch-models.mjs) and the suite's sample folders, which
 * the real-model tests write (<data>/<id>/calibration, <data>/<id>/held-out).
 * Run: node bench/refinements.mjs [data folder, default .tmp/real-models] [model id ...]
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FidelityAccumulator } from '@edgeml/core';
import { loadModel, loadSampleFolder } from '@edgeml/core/node';
import { quantize } from '@edgeml/quantize';
import { NodeBackend } from '@edgeml/runtime-node';

const ROOT = path.resolve(import.meta.dirname, '..');
const [dataArg, ...only] = process.argv.slice(2);
const DATA = path.resolve(dataArg ?? path.join(ROOT, '.tmp/real-models'));
const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'scripts/real-models.json'), 'utf8'));
const CACHE = process.env.EDGEML_MODEL_CACHE || path.join(process.env.HOME, '.cache/edgeml/models');

/** Models and the refinements that apply to them (CLE: Conv or Gemm pairs; SmoothQuant: MatMul readers). */
const MODELS = {
  'ppocr-mobile-v2-cls': ['equalize', 'biasCorrection'],
  'ppocr-v4-det': ['equalize', 'biasCorrection'],
  'ppocr-v4-rec': ['smoothQuant', 'biasCorrection'],
  'oww-embedding': ['equalize', 'biasCorrection'],
  'oww-melspectrogram': ['smoothQuant', 'biasCorrection'],
};

const configs = (refinements) => [
  {},
  ...refinements.map((r) => ({ [r]: true })),
  Object.fromEntries(refinements.map((r) => [r, true])),
];

const label = (c) => Object.keys(c).join(' + ') || 'none';

const backend = new NodeBackend();

/** Outputs of `model` on each sample. */
async function outputsOf(model, samples) {
  const session = await backend.createSession(model);
  try {
    const out = [];
    for (const s of samples) out.push(await session.run(s));
    return out;
  } finally {
    await session.dispose();
  }
}

/** Lowest output SQNR over the samples, each quantized without it (calibrated on the rest). */
async function heldOutSqnr(model, samples, reference, options) {
  const acc = new Map();
  for (let k = 0; k < samples.length; k++) {
    const rest = samples.filter((_, i) => i !== k);
    const { model: q } = await quantize(model, { mode: 'static', calibrationData: rest, backend, ...options });
    const [got] = await outputsOf(q, [samples[k]]);
    for (const [name, t] of Object.entries(reference[k])) {
      if (t.dtype !== 'float32') continue;
      if (!acc.has(name)) acc.set(name, new FidelityAccumulator(name));
      acc.get(name).add(t, got[name]);
    }
  }
  return Math.min(...[...acc.values()].map((a) => a.result().sqnrDb));
}
console.log('| model | weights | refinements | changed | SQNR calibration (dB) | SQNR held-out (dB) |');
console.log('|---|---|---|---|---:|---:|');
for (const [id, refinements] of Object.entries(MODELS)) {
  if (only.length && !only.includes(id)) continue;
  const entry = manifest.models.find((m) => m.id === id);
  const model = await loadModel(path.join(CACHE, `${entry.package}@${entry.version}`, entry.path));
  const calibration = loadSampleFolder(path.join(DATA, id, 'calibration'), model, {});
  const heldOut = loadSampleFolder(path.join(DATA, id, 'held-out'), model, {});
  const samples = [...calibration, ...heldOut];
  const reference = await outputsOf(model, samples);
  for (const perChannel of [true, false])
    for (const config of configs(refinements)) {
      // Every refinement off unless the row turns it on (per-tensor weights default to two of them).
      const options = { perChannel, equalize: false, biasCorrection: false, smoothQuant: false, ...config };
      const r = await quantize(model, {
        mode: 'static',
        calibrationData: calibration,
        evaluationData: calibration,
        backend,
        ...options,
      });
      const held = await heldOutSqnr(model, samples, reference, options);
      const changed = [
        r.equalization && `${r.equalization.pairs.length} pairs`,
        r.smoothQuant && `${r.smoothQuant.smoothed.length} smoothed`,
        r.biasCorrection &&
          `${r.biasCorrection.corrected.length} biases${r.biasCorrection.kept === false ? ' (dropped)' : ''}`,
      ].filter(Boolean);
      console.log(
        `| ${id} | ${perChannel ? 'per-channel' : 'per-tensor'} | ${label(config)} | ${changed.join(', ') || '—'} | ${r.sqnrDb.toFixed(1)} | ${held.toFixed(1)} |`,
      );
    }
}
