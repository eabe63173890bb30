/**
 * The judges of an exported .tflite: TFLite's own interpreter (@edgeml/runtime-tflite) runs the
 * file, onnxruntime-node runs the ONNX model, on the same inputs.
 */
import { Tensor, seededRandom, type Model } from '@edgeml/core';
import { NodeBackend } from '@edgeml/runtime-node';
import { TfliteBackend } from '@edgeml/runtime-tflite';
import {
  exportTflite,
  nchwToNhwc,
  nhwcToNchw,
  type TfliteExportOptions,
  type TfliteExportReport,
} from '@edgeml/tflite';
import { opSequence, readTflite } from '../../packages/tflite/src/testing/read-tflite.js';

const tflite = new TfliteBackend();
const onnx = new NodeBackend();

/** Run .tflite bytes on TFLite's interpreter. */
export async function onTflite(bytes: Uint8Array, feeds: Record<string, Tensor>): Promise<Record<string, Tensor>> {
  const session = await tflite.createSession(bytes);
  try {
    return await session.run(feeds);
  } finally {
    await session.dispose();
  }
}

/** Run an ONNX model on onnxruntime-node (no graph optimizations: the model as written). */
export async function onOnnxruntime(model: Model | Uint8Array, feeds: Record<string, Tensor>) {
  const session = await onnx.createSession(model, { graphOptimizationLevel: 'disabled' });
  try {
    return await session.run(feeds);
  } finally {
    await session.dispose();
  }
}

/** Seeded random float32 feeds in [-1, 1) for the model's graph inputs (`shapes` for dynamic ones). */
export function randomFeeds(
  model: Model,
  seed = 1,
  shapes: Record<string, readonly number[]> = {},
): Record<string, Tensor> {
  const random = seededRandom(seed);
  const inputs = model.graph.inputs.filter((v) => !model.graph.initializers.has(v.name));
  return Object.fromEntries(
    inputs.map((v) => {
      const dims = (shapes[v.name] ?? v.shape) as number[];
      const size = dims.reduce((a, b) => a * b, 1);
      return [
        v.name,
        Tensor.from(
          'float32',
          dims,
          Float32Array.from({ length: size }, () => random() * 2 - 1),
        ),
      ];
    }),
  );
}

/**
 * Largest |a − b| over the largest |a| (at least `floor`: 1 by default, as `edgeml export` and
 * `simplify` measure, so that outputs near 0 are judged absolutely; 0 gives max |a − b|), per
 * output of `want`; Infinity on a shape change.
 */
export function relativeDiffs(
  want: Record<string, Tensor>,
  got: Record<string, Tensor>,
  floor = 1,
): Record<string, number> {
  return Object.fromEntries(
    Object.entries(want).map(([name, w]) => {
      const g = got[name];
      if (!g || g.dims.join() !== w.dims.join()) return [name, Infinity];
      const [a, b] = [w.toFloat64(), g.toFloat64()];
      let diff = 0;
      let scale = floor || 0;
      for (let i = 0; i < a.length; i++) {
        diff = Math.max(diff, Math.abs(a[i] - b[i]));
        scale = Math.max(scale, Math.abs(a[i]));
      }
      return [name, Number.isNaN(diff) ? Infinity : floor === 0 ? diff : diff / scale];
    }),
  );
}

/**
 * The exported file and the ONNX model on the same feeds: each output's relative difference
 * (see {@link relativeDiffs} for `floor`).
 * NHWC inputs and outputs (ioLayout 'nhwc') are transposed to and from the ONNX layout; feeds of
 * inputs the export fixed (`specialize`) go to onnxruntime only.
 */
export async function compareExport(
  model: Model,
  bytes: Uint8Array,
  report: TfliteExportReport,
  feeds: Record<string, Tensor>,
  floor = 1,
): Promise<Record<string, number>> {
  const nhwc = new Set([...report.inputs, ...report.outputs].filter((io) => io.layout === 'nhwc').map((io) => io.name));
  const kept = new Set(report.inputs.map((io) => io.name));
  const tfliteFeeds = Object.fromEntries(
    Object.entries(feeds)
      .filter(([k]) => kept.has(k))
      .map(([k, t]) => [k, nhwc.has(k) ? nchwToNhwc(t) : t]),
  );
  const got = await onTflite(bytes, tfliteFeeds);
  const back = Object.fromEntries(Object.entries(got).map(([k, t]) => [k, nhwc.has(k) ? nhwcToNchw(t) : t]));
  return relativeDiffs(await onOnnxruntime(model, feeds), back, floor);
}

/** The float bar: max relative error of an exported float file against onnxruntime. */
export const FLOAT_TOLERANCE = 1e-4;

/** The largest of a {@link relativeDiffs} record. */
export const worst = (diffs: Record<string, number>) => Math.max(...Object.values(diffs));

/** Export `model` and compare the file with the ONNX model on seeded random feeds. */
export async function exportAndCompare(model: Model, options: TfliteExportOptions = {}) {
  const { bytes, report } = await exportTflite(model, options);
  return { bytes, report, diffs: await compareExport(model, bytes, report, randomFeeds(model, 1, options.shapes)) };
}

/** TRANSPOSE operators that neither read a graph input nor write a graph output, read from the file. */
export function transposesInside(bytes: Uint8Array): number {
  const file = readTflite(bytes);
  const ops = opSequence(file);
  return file.operators.filter(
    (op, i) => ops[i] === 'TRANSPOSE' && !file.inputs.includes(op.inputs[0]) && !file.outputs.includes(op.outputs[0]),
  ).length;
}
