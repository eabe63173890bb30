import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  BackendError,
  GraphError,
  formatForFile,
  measureFidelity,
  type Backend,
  type Model,
  type Tensor,
} from '@edgeml/core';
import { loadModel, writeFileAtomic } from '@edgeml/core/node';
import { makeFeeds } from '@edgeml/benchmark';
import {
  TFLITE_IO_LAYOUTS,
  TFLITE_QUANTIZATIONS,
  exportTflite,
  nchwToNhwc,
  nhwcToNchw,
  tfliteFormat,
  type TfliteExportReport,
} from '@edgeml/tflite';
import { resolveCliBackend } from '../backends.js';
import type { Command, CommandContext } from '../command.js';
import { UsageError } from '../cli-error.js';
import { choiceOption, numberOption, shapesOption, stringOption } from '../options.js';
import { fmtBytes } from './inspect.js';
import { firstLine, openWrittenModel } from '../verify-output.js';
import { fixedInputs, withFixedInputs } from '../fixed-inputs.js';

type Values = CommandContext['values'];

/** The formats `edgeml export -o` writes, picked by the output's extension. */
const EXPORT_FORMATS = [tfliteFormat];

/** How one output of the .tflite on TFLite's interpreter compares with the ONNX model's on onnxruntime. */
export interface ExportAgreement {
  output: string;
  maxAbsDiff: number;
  /** maxAbsDiff over the ONNX output's largest magnitude (at least 1, as `simplify` measures). */
  relativeDiff: number;
  cosineSimilarity: number;
}

/** The JSON document `edgeml export --json` prints. */
export interface ExportCommandReport {
  input: string;
  output: string;
  format: string;
  quantize: string;
  ioLayout: string;
  sizeBytes: { onnx: number; tflite: number };
  /** TFLite builtin operators of the written file. */
  opCounts: TfliteExportReport['opCounts'];
  transposes: number;
  /** Rewrites of the simplification before lowering (constant folding, BatchNorm folding, …). */
  prepared: TfliteExportReport['prepared'];
  /** How ONNX ops were lowered and what was fused. */
  lowered: TfliteExportReport['lowered'];
  float16Weights: number;
  inputs: TfliteExportReport['inputs'];
  outputs: TfliteExportReport['outputs'];
  /** Measured on seeded random inputs: ONNX on onnxruntime-node vs the .tflite on TFLite's interpreter. */
  agreement: ExportAgreement[];
  tolerance: number;
  runtimes: { onnx: string; tflite: string };
}

/**
 * The precisions the command offers: those whose agreement check on random inputs means
 * something. 'dynamic' (int8 weights) is in the API; its fidelity is a matter of real data.
 */
const CLI_QUANTIZATIONS = TFLITE_QUANTIZATIONS.filter((q) => q !== 'dynamic');
const TOLERANCE: Record<string, number> = { none: 1e-4, fp16: 1e-2 };

async function runOn(backend: Backend, model: Model | Uint8Array, feeds: Record<string, Tensor>, what: string) {
  const session = await openWrittenModel(backend, model, what);
  try {
    return await session.run(feeds);
  } catch (e) {
    throw new BackendError(`the ${what} model does not run in ${backend.name}: ${firstLine(e)}; nothing was written`, {
      backend: backend.name,
      cause: e,
    });
  } finally {
    await session.dispose();
  }
}

/**
 * Run the ONNX model on onnxruntime-node and the .tflite on TFLite's interpreter on the same
 * seeded random inputs (NHWC ones transposed for the .tflite, and its NHWC outputs back) and
 * compare every output.
 */
export async function measureAgreement(
  model: Model,
  bytes: Uint8Array,
  report: TfliteExportReport,
  shapes: Record<string, number[]>,
): Promise<{ agreement: ExportAgreement[]; runtimes: ExportCommandReport['runtimes'] }> {
  const onnx = await resolveCliBackend('node');
  const tflite = await resolveCliBackend('tflite');
  const inputs = model.graph.inputs.filter((v) => !model.graph.initializers.has(v.name));
  const feeds = makeFeeds(
    inputs.map((v) => ({ name: v.name, type: v.type })),
    { shapes, seed: 1 },
  );
  const want = await runOn(onnx, model, feeds, 'input ONNX');
  const nhwc = new Set([...report.inputs, ...report.outputs].filter((io) => io.layout === 'nhwc').map((io) => io.name));
  const tfliteFeeds = Object.fromEntries(
    Object.entries(feeds).map(([name, t]) => [name, nhwc.has(name) ? nchwToNhwc(t) : t]),
  );
  const raw = await runOn(tflite, bytes, tfliteFeeds, 'exported .tflite');
  const got = Object.fromEntries(Object.entries(raw).map(([name, t]) => [name, nhwc.has(name) ? nhwcToNchw(t) : t]));
  const fidelity = measureFidelity([want], [got]);
  const agreement = fidelity.map((f) => {
    const reference = want[f.output].toFloat64();
    const scale = reference.reduce((m, v) => Math.max(m, Math.abs(v)), 1);
    return {
      output: f.output,
      maxAbsDiff: f.maxAbsDiff,
      relativeDiff: f.maxAbsDiff / scale,
      cosineSimilarity: f.cosineSimilarity,
    };
  });
  return { agreement, runtimes: { onnx: `${onnx.name} ${onnx.version}`, tflite: `${tflite.name} ${tflite.version}` } };
}

export async function runExport(values: Values, input: string): Promise<ExportCommandReport> {
  const output = stringOption(values, 'output');
  if (!output) throw new UsageError('missing -o/--output <out.tflite>', 'export');
  const format = formatForFile(output, EXPORT_FORMATS);
  if (!format)
    throw new UsageError(
      `cannot tell the format of '${output}' from its extension; export writes ${EXPORT_FORMATS.flatMap((f) => f.extensions).join(', ')}`,
      'export',
    );
  if (path.resolve(output) === path.resolve(input))
    throw new UsageError('the output must not overwrite the input model', 'export');
  const quantize = choiceOption(values, 'quantize', CLI_QUANTIZATIONS, 'export', 'none')!;
  const ioLayout = choiceOption(values, 'io-layout', TFLITE_IO_LAYOUTS, 'export', 'nchw')!;
  const shapes = shapesOption(values, 'export');
  const tolerance = numberOption(values, 'tolerance', (n) => n >= 0, 'a number ≥ 0', TOLERANCE[quantize])!;
  const model = await loadModel(input);
  const specialize = fixedInputs(values, model, 'export');
  const { bytes, report } = await exportTflite(model, { shapes, ioLayout, quantize, specialize });
  const { agreement, runtimes } = await measureAgreement(withFixedInputs(model, specialize), bytes, report, shapes);
  const bad = agreement.find((a) => !(a.relativeDiff <= tolerance));
  if (bad)
    throw new GraphError(
      `the .tflite's output '${bad.output}' differs from the ONNX model's by ${bad.relativeDiff.toPrecision(3)} relative (max |diff| ${bad.maxAbsDiff.toPrecision(3)}) on seeded random inputs, above --tolerance ${tolerance}; nothing was written`,
    );
  await writeFileAtomic(output, (fd) => {
    for (let written = 0; written < bytes.byteLength;) written += fs.writeSync(fd, bytes, written);
  });
  return {
    input,
    output,
    format: format.name,
    quantize,
    ioLayout,
    sizeBytes: { onnx: fs.statSync(input).size, tflite: bytes.byteLength },
    opCounts: report.opCounts,
    transposes: report.transposes,
    prepared: report.prepared,
    lowered: report.lowered,
    float16Weights: report.float16Weights,
    inputs: report.inputs,
    outputs: report.outputs,
    agreement,
    tolerance,
    runtimes,
  };
}

function formatReport(r: ExportCommandReport): string {
  const ops = Object.entries(r.opCounts).sort((a, b) => b[1] - a[1]);
  const io = (x: ExportCommandReport['inputs'][number]) => `${x.name} ${x.dtype}[${x.shape.join(', ')}] (${x.layout})`;
  return (
    [
      `exported ${r.input} -> ${r.output} (${r.format}, quantize ${r.quantize})`,
      `size       ${fmtBytes(r.sizeBytes.onnx)} -> ${fmtBytes(r.sizeBytes.tflite)}`,
      `inputs     ${r.inputs.map(io).join(', ')}`,
      `outputs    ${r.outputs.map(io).join(', ')}`,
      `transposes ${r.transposes}`,
      'operators',
      ...ops.map(([op, n]) => `  ${op.padEnd(26)} ${n}`),
      'lowered',
      ...Object.entries(r.lowered).map(([what, n]) => `  ${what} ×${n}`),
      `checked    ${r.runtimes.tflite} vs ${r.runtimes.onnx}, same inputs: ${r.agreement.map((a) => `${a.output} max |diff| ${a.maxAbsDiff.toPrecision(3)} (cosine ${a.cosineSimilarity.toFixed(6)})`).join(', ')}`,
    ].join('\n') + '\n'
  );
}

export const exportCommand: Command = {
  name: 'export',
  summary: 'write an ONNX model as a TFLite (.tflite) file, checked on TFLite’s own interpreter',
  usage:
    'edgeml export <in.onnx> -o <out.tflite> [--quantize none|fp16] [--io-layout nchw|nhwc] [--shape name=1x3x224x224] [--fix name=value] [--tolerance r] [--json]',
  help: `Exports a copy of the model (the input is never modified) to TensorFlow Lite: the model
is simplified with the static shapes given (TFLite needs static shapes: --shape fixes dynamic
input dimensions), lowered to TFLite builtin operators in NHWC (Conv weights OIHW -> OHWI,
depthwise and grouped convolutions, asymmetric padding as an explicit PAD, Relu/Relu6 fused
into the op before), and layouts change only where an op needs it, so a CNN has TRANSPOSEs at
its edges only. If and Loop become TFLite's IF and WHILE (branches and bodies as subgraphs),
LSTM, GRU and RNN are unrolled over their sequence length. An op TFLite cannot express stops
the export with its name and node.

Before writing, the .tflite runs on TFLite's interpreter and the ONNX model on
onnxruntime-node, on the same seeded random inputs: every output must agree within
--tolerance relative (to the output's largest magnitude, at least 1), or nothing is
written. The file is
written atomically.

Options:
  -o, --output <file>      where to write the .tflite (required; the extension picks the format)
  --quantize <mode>        none: float32 weights (default); fp16: float16 weights, widened by
                           DEQUANTIZE at load (TFLite's float16 quantization, half the size)
  --io-layout <layout>     nchw: inputs and outputs as in the ONNX model (default); nhwc: 4-D
                           image inputs and outputs NHWC, as Android's TensorImage expects
  --shape <name=dims>      an input's static shape, e.g. x=1x3x640x640 (repeatable)
  --fix <name=value>       fix an input to a constant first (repeatable), e.g. sr=16000: an If
                           on it becomes the branch taken and the .tflite has no such input
  --tolerance <r>          largest relative output difference accepted (default 1e-4, 1e-2
                           with --quantize fp16)
  --json                   print one JSON object: input, output, format, quantize, ioLayout,
                           sizeBytes {onnx, tflite}, opCounts, transposes, prepared, lowered,
                           float16Weights, inputs, outputs, agreement [{output, maxAbsDiff,
                           relativeDiff, cosineSimilarity}], tolerance, runtimes
  -h, --help               show this help

Examples:
  edgeml export det.onnx -o det.tflite --shape x=1x3x640x640
  edgeml export classifier.onnx -o classifier.fp16.tflite --quantize fp16 --io-layout nhwc --json`,
  options: {
    output: { type: 'string', short: 'o' },
    quantize: { type: 'string' },
    'io-layout': { type: 'string' },
    shape: { type: 'string', multiple: true },
    fix: { type: 'string', multiple: true },
    tolerance: { type: 'string' },
  },
  async run({ values, positionals, stdout }) {
    if (positionals.length !== 1) throw new UsageError(`expected one input model, got ${positionals.length}`, 'export');
    const report = await runExport(values, positionals[0]);
    stdout(values.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report));
  },
};
