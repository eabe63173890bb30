/** Float against quantized on the same samples: the error report of every quantization. */
import { FidelityAccumulator, Tensor, exposeOutputs, roundHalfEven, type Backend, type Model } from '@edgeml/core';
import type { CalibrationData, CalibrationSample } from './calibrate.js';
import type { OutputError, QuantizeResult } from './quantize.js';
import { quantRange } from './quant-params.js';

const floatTensorOf = (t: Tensor) => t.dtype === 'float32' || t.dtype === 'float16';

const exposing = (model: Model, names: readonly string[]): Model => exposeOutputs(model, names).model;

interface IoParams {
  scale: number;
  zeroPoint: number;
  type: 'uint8' | 'int8';
}

/** A full-integer model's integer inputs and outputs with their parameters (from its metadata). */
function integerIo(model: Model): Map<string, IoParams> {
  const io = new Map<string, IoParams>();
  for (const v of [...model.graph.inputs, ...model.graph.outputs]) {
    const meta = model.metadata.get(`edgeml.quantization.${v.name}`);
    if (meta && (v.dtype === 'uint8' || v.dtype === 'int8')) io.set(v.name, JSON.parse(meta) as IoParams);
  }
  return io;
}

/**
 * A full-integer model compared on the float samples as its user feeds it: each integer input
 * quantized with its recorded parameters, each integer output dequantized with its own.
 */
function fullIntegerRunner(io: Map<string, IoParams>) {
  if (!io.size) return { feeds: (s: CalibrationSample) => s, outputs: (o: Record<string, Tensor>) => o };
  const quantized = (name: string, t: Tensor): Tensor => {
    const p = io.get(name);
    if (!p || t.dtype !== 'float32') return t;
    const { qmin, qmax } = quantRange(p.type);
    const q = Array.from(t.data as Float32Array, (x) =>
      Math.min(qmax, Math.max(qmin, roundHalfEven(x / p.scale) + p.zeroPoint)),
    );
    return Tensor.from(p.type, t.dims, p.type === 'uint8' ? Uint8Array.from(q) : Int8Array.from(q));
  };
  const dequantized = (name: string, t: Tensor): Tensor => {
    const p = io.get(name);
    if (!p || t.dtype === 'float32') return t;
    return Tensor.from(
      'float32',
      t.dims,
      Float32Array.from(t.data as Uint8Array, (v) => (v - p.zeroPoint) * p.scale),
    );
  };
  return {
    feeds: (sample: CalibrationSample) =>
      Object.fromEntries(Object.entries(sample).map(([name, t]) => [name, quantized(name, t)])),
    outputs: (out: Record<string, Tensor>) =>
      Object.fromEntries(Object.entries(out).map(([name, t]) => [name, dequantized(name, t)])),
  };
}

/**
 * SQNR and max error, float model against quantized on the same samples: every float
 * output, plus the named intermediate tensors (present in both models).
 */
export async function compareOutputs(
  floatModel: Model,
  quantModel: Model,
  data: CalibrationData,
  backend: Backend,
  tensors: readonly string[] = [],
  quantNames: Record<string, string> = {},
  reference?: readonly Record<string, Tensor>[],
): Promise<OutputError[]> {
  const outputNames = new Set(floatModel.graph.outputs.map((v) => v.name));
  // Float outputs kept from calibration stand in for a float session (the same samples, in order).
  const wanted = new Set([...outputNames, ...tensors]);
  let index = 0;
  const fromReference = {
    run: async () => Object.fromEntries(Object.entries(reference![index++]).filter(([n]) => wanted.has(n))),
    dispose: async () => undefined,
  };
  const a = reference
    ? fromReference
    : await backend.createSession(tensors.length ? exposing(floatModel, tensors) : floatModel);
  const b = await backend.createSession(
    tensors.length
      ? exposing(
          quantModel,
          tensors.map((t) => quantNames[t] ?? t),
        )
      : quantModel,
  );
  const acc = new Map<string, FidelityAccumulator>();
  const integer = fullIntegerRunner(integerIo(quantModel));
  try {
    for await (const sample of data as AsyncIterable<CalibrationSample>) {
      const [x, y] = [await a.run(sample), integer.outputs(await b.run(integer.feeds(sample)))];
      for (const [name, t] of Object.entries(x)) {
        // Graph outputs compare by name; inner activations against what their readers see (the dequantized value).
        const other = y[outputNames.has(name) ? name : (quantNames[name] ?? name)];
        if (!floatTensorOf(t) || !other) continue;
        if (!acc.has(name)) acc.set(name, new FidelityAccumulator(name));
        acc.get(name)!.add(t, other);
      }
    }
  } finally {
    await a.dispose();
    await b.dispose();
  }
  return [...acc.values()].map((e) => {
    const f = e.result();
    return { name: f.output, sqnrDb: f.sqnrDb, maxAbsError: f.maxAbsDiff, cosineSimilarity: f.cosineSimilarity };
  });
}

/** The float model's outputs on every sample, in order: the reference later comparisons reuse instead of running it again. */
export async function floatOutputs(
  model: Model,
  data: CalibrationData,
  backend: Backend,
): Promise<Record<string, Tensor>[]> {
  const session = await backend.createSession(model);
  const outputs: Record<string, Tensor>[] = [];
  try {
    for await (const sample of data as AsyncIterable<CalibrationSample>) outputs.push(await session.run(sample));
  } finally {
    await session.dispose();
  }
  return outputs;
}

/** Lowest output SQNR (dB) of `quantModel` against `floatModel` on `data` (outputs only: the cheap measure). */
export async function lowestOutputSqnr(
  floatModel: Model,
  quantModel: Model,
  data: CalibrationData,
  backend: Backend,
  reference?: readonly Record<string, Tensor>[],
): Promise<number> {
  const errors = await compareOutputs(floatModel, quantModel, data, backend, [], {}, reference);
  return Math.min(...errors.map((e) => e.sqnrDb));
}

/** Fill in `result`'s output errors (and per-tensor errors for static modes) against `original`. */
export async function evaluate(
  result: QuantizeResult,
  original: Model,
  data: CalibrationData,
  backend: Backend,
  reference?: readonly Record<string, Tensor>[],
): Promise<void> {
  const outputs = new Set(original.graph.outputs.map((v) => v.name));
  const errors = await compareOutputs(
    original,
    result.model,
    data,
    backend,
    Object.keys(result.ranges ?? {}),
    result.dequantizedNames,
    reference,
  );
  result.outputErrors = errors.filter((e) => outputs.has(e.name));
  if (result.ranges) result.tensorErrors = errors;
  result.sqnrDb = Math.min(...result.outputErrors.map((e) => e.sqnrDb));
}
