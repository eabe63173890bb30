// Worker side: each optimization the page offers, on a model given as bytes, giving new bytes.
import { encodeModel, simplify, type Backend } from '@edgeml/core';
import { prune } from '@edgeml/prune';
import { quantize, type QuantizeOptions } from '@edgeml/quantize';
import { calibrationSamples } from './calibration.js';
import { readModel } from './inspect.js';
import type { DroppedFile, QuantizationChoice, VariantOutput } from './protocol.js';

const kB = (bytes: number) => `${(bytes / 1000).toFixed(1)} kB`;

export async function simplifyVariant(bytes: Uint8Array): Promise<VariantOutput> {
  const { model, report } = await simplify(readModel(bytes));
  const rewrites = Object.entries(report.rewrites).map(([name, n]) => `${name} ×${n}`);
  return {
    bytes: encodeModel(model),
    notes: [
      `nodes ${report.before.nodes} → ${report.after.nodes}, size ${kB(report.before.sizeBytes)} → ${kB(report.after.sizeBytes)}`,
      rewrites.length ? `rewrites: ${rewrites.join(', ')}` : 'nothing to rewrite',
    ],
  };
}

/** The quantization asked for: the form, and 7-bit weights for x86 CPUs without VNNI. */
export interface QuantizationRequest {
  choice: QuantizationChoice;
  reduceRange: boolean;
}

async function quantizeOptions(
  bytes: Uint8Array,
  { choice, reduceRange }: QuantizationRequest,
  calibration: DroppedFile[],
  backend: () => Promise<Backend>,
  onProgress: (done: number, total: number) => void,
): Promise<QuantizeOptions> {
  switch (choice) {
    case 'dynamic int8':
      return { mode: 'dynamic', reduceRange };
    case 'fp16':
      return { mode: 'fp16' };
    case 'int4':
      return { mode: 'int4' };
    case 'static int8': {
      // Calibration runs the float model on onnxruntime-web in this worker; the output error is
      // measured on the same samples (the library keeps their float outputs from calibration).
      const samples = await calibrationSamples(calibration, readModel(bytes));
      return {
        mode: 'static',
        reduceRange,
        calibrationData: samples,
        evaluationData: samples,
        backend: await backend(),
        onProgress: (done) => onProgress(done, samples.length),
      };
    }
  }
}

export async function quantizeVariant(
  bytes: Uint8Array,
  request: QuantizationRequest,
  calibration: DroppedFile[],
  backend: () => Promise<Backend>,
  onProgress: (done: number, total: number) => void = () => {},
): Promise<VariantOutput> {
  // Static int8 reports calibration samples as they run; the other forms are quick.
  const r = await quantize(readModel(bytes), await quantizeOptions(bytes, request, calibration, backend, onProgress));
  const notes = [
    `${r.quantizedNodes.length} nodes quantized, ${r.skippedNodes.length} left in float; size ${kB(r.sizeBefore)} → ${kB(r.sizeAfter)}`,
    ...r.prepared.map((p) => `prepared: ${p.detail}`),
    ...(r.reducedRange || request.reduceRange ? ['weights: 7-bit (for x86 CPUs without VNNI)'] : []),
    ...(r.sqnrDb !== undefined ? [`output SQNR ${r.sqnrDb.toFixed(1)} dB on the calibration samples`] : []),
    ...(r.warnings ?? []).map((w) => w.message),
  ];
  return { bytes: encodeModel(r.model), notes };
}

export async function pruneVariant(bytes: Uint8Array, ratio: number): Promise<VariantOutput> {
  const r = await prune(readModel(bytes), { method: 'channel', ratio });
  const before = (r.groups ?? []).reduce((n, g) => n + g.channelsBefore, 0);
  const after = (r.groups ?? []).reduce((n, g) => n + g.channelsAfter, 0);
  return {
    bytes: encodeModel(r.model),
    notes: [
      `${r.groups?.length ?? 0} channel groups pruned: ${before} → ${after} channels`,
      ...(r.skipped ?? []).slice(0, 5).map((s) => `left alone: ${s.name} (${s.reason})`),
    ],
  };
}
