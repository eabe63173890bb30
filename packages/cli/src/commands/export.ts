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
import { dequantizeTensor, quantizeTensor } from '@edgeml/runtime-tflite';
import {
  TFLITE_IO_LAYOUTS,
  TFLITE_IO_TYPES,
  TFLITE_QUANTIZATIONS,
  checkFullIntegerControlFlow,
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
import { calibrationSamples, quantizeForTflite } from './export-int8.js';

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
  /** Signal over the difference, in dB, over all samples compared. */
  sqnrDb: number;
  /** Share of samples with the same arg-max, for class-score outputs ([batch, classes]). */
  top1Agreement?: number;
  /** How many input samples were compared. */
  samples: number;
}

/** The JSON document `edgeml export --json` prints. */
export interface ExportCommandReport {
  input: string;
  output: string;
  format: string;
  quantize: string;
  ioLayout: string;
  ioType: string;
  /** quantize int8: where the activation ranges came from, and how many samples. */
  calibration?: { source: 'folder' | 'random'; samples: number };
  /** quantize int8: tensors stored as int8, and QUANTIZEs requantizing to a kernel's required scale. */
  int8Tensors: number;
  requantized: number;
  /** --float-fallback: TFLite operators left in float between DEQUANTIZE and QUANTIZE, by operator. */
  floatOperators: TfliteExportReport['floatOperators'];
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
  /** Largest relativeDiff accepted (float32 and fp16); null where --min-sqnr gates instead. */
  tolerance: number | null;
  /** Smallest SQNR accepted (dynamic and int8); null for float32 and fp16. */
  minSqnrDb: number | null;
  runtimes: { onnx: string; tflite: string };
  /** Which of the Edge TPU compiler's requirements the file meets. */
  edgeTpu: TfliteExportReport['edgeTpu'];
}

/** Float precisions are gated by the relative difference, integer ones by the SQNR (their error is rounding noise). */
const TOLERANCE: Record<string, number> = { none: 1e-4, fp16: 1e-2 };
const MIN_SQNR_DB: Record<string, number> = { dynamic: 10, int8: 10 };

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
 * The .tflite's view of one ONNX-layout feed and back: NHWC inputs transposed, integer inputs
 * (ioType int8/uint8) quantized with the file's scale and zero point, and the outputs undone.
 */
function tfliteCodec(report: TfliteExportReport) {
  const io = new Map([...report.inputs, ...report.outputs].map((x) => [x.name, x]));
  const params = (q: { scale: number; zeroPoint: number }) => ({ scale: [q.scale], zeroPoint: [q.zeroPoint], axis: 0 });
  return {
    encode: (name: string, t: Tensor) => {
      const x = io.get(name);
      const laid = x?.layout === 'nhwc' ? nchwToNhwc(t) : t;
      return x?.quantization ? quantizeTensor(laid, x.dtype as 'int8', params(x.quantization)) : laid;
    },
    decode: (name: string, t: Tensor) => {
      const x = io.get(name);
      const real = x?.quantization ? dequantizeTensor(t, params(x.quantization)) : t;
      return x?.layout === 'nhwc' ? nhwcToNchw(real) : real;
    },
  };
}

/**
 * Run the ONNX model on onnxruntime-node and the .tflite on TFLite's interpreter on the same
 * inputs (`samples`, else one seeded random feed) and compare every output over all of them.
 */
export async function measureAgreement(
  model: Model,
  bytes: Uint8Array,
  report: TfliteExportReport,
  shapes: Record<string, number[]>,
  samples?: Record<string, Tensor>[],
): Promise<{ agreement: ExportAgreement[]; runtimes: ExportCommandReport['runtimes'] }> {
  const onnx = await resolveCliBackend('node');
  const tflite = await resolveCliBackend('tflite');
  const inputs = model.graph.inputs.filter((v) => !model.graph.initializers.has(v.name));
  const feedSets = samples ?? [
    makeFeeds(
      inputs.map((v) => ({ name: v.name, type: v.type })),
      { shapes, seed: 1 },
    ),
  ];
  const codec = tfliteCodec(report);
  const wants: Record<string, Tensor>[] = [];
  const gots: Record<string, Tensor>[] = [];
  for (const feeds of feedSets) {
    wants.push(await runOn(onnx, model, feeds, 'input ONNX'));
    const tfliteFeeds = Object.fromEntries(Object.entries(feeds).map(([name, t]) => [name, codec.encode(name, t)]));
    const raw = await runOn(tflite, bytes, tfliteFeeds, 'exported .tflite');
    gots.push(Object.fromEntries(Object.entries(raw).map(([name, t]) => [name, codec.decode(name, t)])));
  }
  const agreement = measureFidelity(wants, gots).map((f) => {
    const scale = wants.reduce((m, w) => w[f.output].toFloat64().reduce((a, v) => Math.max(a, Math.abs(v)), m), 1);
    return {
      output: f.output,
      maxAbsDiff: f.maxAbsDiff,
      relativeDiff: f.maxAbsDiff / scale,
      cosineSimilarity: f.cosineSimilarity,
      sqnrDb: f.sqnrDb,
      ...(f.top1Agreement !== undefined ? { top1Agreement: f.top1Agreement } : {}),
      samples: feedSets.length,
    };
  });
  return { agreement, runtimes: { onnx: `${onnx.name} ${onnx.version}`, tflite: `${tflite.name} ${tflite.version}` } };
}

/** How many calibration samples the agreement check of an int8 export compares on. */
const AGREEMENT_SAMPLES = 8;

export async function runExport(
  values: Values,
  input: string,
  warn: (text: string) => void = () => {},
): Promise<ExportCommandReport> {
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
  const quantize = choiceOption(values, 'quantize', TFLITE_QUANTIZATIONS, 'export', 'none')!;
  const ioLayout = choiceOption(values, 'io-layout', TFLITE_IO_LAYOUTS, 'export', 'nchw')!;
  const ioType = choiceOption(values, 'io-type', TFLITE_IO_TYPES, 'export', 'float32')!;
  if (ioType !== 'float32' && quantize !== 'int8')
    throw new UsageError(`--io-type ${ioType} needs --quantize int8 (integer I/O carries the int8 scales)`, 'export');
  const floatFallback = !!values['float-fallback'];
  if (floatFallback && quantize !== 'int8')
    throw new UsageError('--float-fallback is for --quantize int8 (what it cannot quantize stays float)', 'export');
  const folder = stringOption(values, 'calibration');
  if (folder && quantize !== 'int8')
    throw new UsageError('--calibration is for --quantize int8 (the representative data)', 'export');
  const shapes = shapesOption(values, 'export');
  const tolerance = numberOption(values, 'tolerance', (n) => n >= 0, 'a number ≥ 0', TOLERANCE[quantize]);
  const minSqnr = numberOption(values, 'min-sqnr', Number.isFinite, 'a number (dB)', MIN_SQNR_DB[quantize]);
  const model = await loadModel(input);
  const specialize = fixedInputs(values, model, 'export');
  const fitted = withFixedInputs(model, specialize);
  // Control flow is refused before calibrating: the quantizer would say only that nothing was quantized.
  if (quantize === 'int8' && !floatFallback) await checkFullIntegerControlFlow(model, { shapes, specialize });
  // Int8 calibrates the model with its --fix inputs frozen, so the quantized one has no such input.
  const samples = quantize === 'int8' ? calibrationSamples(fitted, folder, shapes, warn) : undefined;
  const source = samples ? await quantizeForTflite(fitted, samples, shapes) : model;
  const { bytes, report } = await exportTflite(source, {
    shapes,
    ioLayout,
    quantize,
    ioType,
    floatFallback,
    specialize: samples ? undefined : specialize,
  });
  const compared = folder ? samples!.slice(0, AGREEMENT_SAMPLES) : undefined;
  const { agreement, runtimes } = await measureAgreement(fitted, bytes, report, shapes, compared);
  const on = compared ? `${compared.length} calibration samples` : 'seeded random inputs';
  const bad = agreement.find((a) => tolerance !== undefined && !(a.relativeDiff <= tolerance));
  if (bad)
    throw new GraphError(
      `the .tflite's output '${bad.output}' differs from the ONNX model's by ${bad.relativeDiff.toPrecision(3)} relative (max |diff| ${bad.maxAbsDiff.toPrecision(3)}) on ${on}, above --tolerance ${tolerance}; nothing was written`,
    );
  const noisy = agreement.find((a) => minSqnr !== undefined && !(a.sqnrDb >= minSqnr));
  if (noisy)
    throw new GraphError(
      `the .tflite's output '${noisy.output}' is ${noisy.sqnrDb.toFixed(1)} dB over its difference from the ONNX model's on ${on}, below --min-sqnr ${minSqnr}; nothing was written (calibrate on representative data with --calibration, or lower --min-sqnr)`,
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
    ioType,
    ...(samples ? { calibration: { source: folder ? 'folder' : 'random', samples: samples.length } } : {}),
    int8Tensors: report.int8Tensors,
    floatOperators: report.floatOperators,
    requantized: report.requantized,
    sizeBytes: { onnx: fs.statSync(input).size, tflite: bytes.byteLength },
    opCounts: report.opCounts,
    transposes: report.transposes,
    prepared: report.prepared,
    lowered: report.lowered,
    float16Weights: report.float16Weights,
    inputs: report.inputs,
    outputs: report.outputs,
    agreement,
    tolerance: tolerance ?? null,
    minSqnrDb: minSqnr ?? null,
    runtimes,
    edgeTpu: report.edgeTpu,
  };
}

const agreementLine = (a: ExportAgreement) =>
  `${a.output} max |diff| ${a.maxAbsDiff.toPrecision(3)} (cosine ${a.cosineSimilarity.toFixed(6)}, SQNR ${a.sqnrDb.toFixed(1)} dB${a.top1Agreement !== undefined ? `, top-1 ${(100 * a.top1Agreement).toFixed(1)}%` : ''}, ${a.samples} sample${a.samples === 1 ? '' : 's'})`;

function edgeTpuLines(r: ExportCommandReport): string[] {
  const tpu = r.edgeTpu;
  return [
    `edge tpu   ${tpu.meets ? 'meets every requirement checked here' : 'does not meet every requirement (the compiler maps the rest to the CPU)'}`,
    ...tpu.requirements.map((q) => `  ${q.met ? 'yes' : 'NO '} ${q.requirement}${q.detail ? `: ${q.detail}` : ''}`),
  ];
}

function formatReport(r: ExportCommandReport, edgeTpu = false): string {
  const ops = Object.entries(r.opCounts).sort((a, b) => b[1] - a[1]);
  const io = (x: ExportCommandReport['inputs'][number]) => `${x.name} ${x.dtype}[${x.shape.join(', ')}] (${x.layout})`;
  return (
    [
      `exported ${r.input} -> ${r.output} (${r.format}, quantize ${r.quantize}${r.ioType !== 'float32' ? `, ${r.ioType} I/O` : ''})`,
      ...(r.calibration
        ? [
            `calibrated on ${r.calibration.samples} ${r.calibration.source === 'folder' ? 'samples' : 'random inputs'}; ${r.int8Tensors} int8 tensors, ${r.requantized} requantizations`,
          ]
        : []),
      ...(Object.keys(r.floatOperators).length
        ? [
            `in float   ${Object.entries(r.floatOperators)
              .map(([op, n]) => `${op} ×${n}`)
              .join(', ')} (--float-fallback: no int8 kernel or no calibrated range)`,
          ]
        : []),
      `size       ${fmtBytes(r.sizeBytes.onnx)} -> ${fmtBytes(r.sizeBytes.tflite)}`,
      `inputs     ${r.inputs.map(io).join(', ')}`,
      `outputs    ${r.outputs.map(io).join(', ')}`,
      `transposes ${r.transposes}`,
      'operators',
      ...ops.map(([op, n]) => `  ${op.padEnd(26)} ${n}`),
      'lowered',
      ...Object.entries(r.lowered).map(([what, n]) => `  ${what} ×${n}`),
      `checked    ${r.runtimes.tflite} vs ${r.runtimes.onnx}, same inputs: ${r.agreement.map(agreementLine).join(', ')}`,
      ...(edgeTpu ? edgeTpuLines(r) : []),
    ].join('\n') + '\n'
  );
}

export const exportCommand: Command = {
  name: 'export',
  summary: 'write an ONNX model as a TFLite (.tflite) file, checked on TFLite’s own interpreter',
  usage:
    'edgeml export <in.onnx> -o <out.tflite> [--quantize none|fp16|dynamic|int8] [--calibration dir] [--io-type float32|int8|uint8] [--float-fallback] [--io-layout nchw|nhwc] [--shape name=1x3x224x224] [--fix name=value] [--tolerance r] [--min-sqnr dB] [--edgetpu] [--json]',
  help: `Exports a copy of the model (the input is never modified) to TensorFlow Lite: the model
is simplified with the static shapes given (TFLite needs static shapes: --shape fixes dynamic
input dimensions), lowered to TFLite builtin operators in NHWC (Conv weights OIHW -> OHWI,
depthwise and grouped convolutions, asymmetric padding as an explicit PAD, Relu/Relu6 fused
into the op before), and layouts change only where an op needs it, so a CNN has TRANSPOSEs at
its edges only. If and Loop become TFLite's IF and WHILE (branches and bodies as subgraphs),
LSTM, GRU and RNN are unrolled over their sequence length. An op TFLite cannot express stops
the export with its name and node.

Before writing, the .tflite runs on TFLite's interpreter and the ONNX model on
onnxruntime-node, on the same inputs (seeded random ones; for --quantize int8 with
--calibration, up to 8 calibration samples): every output must agree within --tolerance
relative (to the output's largest magnitude, at least 1) for float32 and fp16, or keep
--min-sqnr dB of signal over its difference for dynamic and int8 (their error is rounding
noise), or nothing is written. The file is written atomically.

--quantize int8 is TFLite's full-integer quantization (TFLiteConverter with a
representative dataset): @edgeml/quantize calibrates the model on --calibration's samples
(asymmetric int8 activations, per-channel symmetric int8 weights, int32 biases, TFLite's
fixed Softmax/Logistic/Tanh scales), and the QDQ model is lowered to int8 TFLite tensors.
Without --calibration it calibrates on 16 random inputs and says so on stderr. A model
whose network runs in an If or Loop is refused before calibrating, naming the node: --fix
the input its condition reads (Silero VAD: --fix sr=16000), use --float-fallback (the node and
its subgraphs run in float), or --quantize dynamic. An op
with no int8 kernel in TFLite (SQRT, LOG, DIV, …) or no calibrated range (the steps inside a
LayerNormalization) is refused naming the node; --float-fallback runs such ops in float
between DEQUANTIZE and QUANTIZE instead, as TFLiteConverter's default op set does (the file
is then not full-integer: the Edge TPU and int8-only runtimes refuse it).

Options:
  -o, --output <file>      where to write the .tflite (required; the extension picks the format)
  --quantize <mode>        none: float32 weights (default); fp16: float16 weights, widened by
                           DEQUANTIZE at load (TFLite's float16 quantization, half the size);
                           dynamic: per-channel int8 weights, float activations (TFLite's
                           dynamic-range quantization, hybrid kernels); int8: full integer
  --calibration <dir>      int8: folder of representative samples, as edgeml quantize's
                           --calibration (.npy per input, or images)
  --io-type <type>         int8: float32 inputs and outputs (default; QUANTIZE/DEQUANTIZE
                           inside), int8, or uint8 (scale and zero point in the tensors)
  --float-fallback         int8: run ops without an int8 kernel or range in float (listed as
                           floatOperators) instead of refusing them
  --io-layout <layout>     nchw: inputs and outputs as in the ONNX model (default); nhwc: 4-D
                           image inputs and outputs NHWC, as Android's TensorImage expects
  --shape <name=dims>      an input's static shape, e.g. x=1x3x640x640 (repeatable)
  --fix <name=value>       fix an input to a constant first (repeatable), e.g. sr=16000: an If
                           on it becomes the branch taken and the .tflite has no such input
  --tolerance <r>          largest relative output difference accepted (default 1e-4, 1e-2
                           with --quantize fp16; not checked for dynamic and int8 unless given)
  --min-sqnr <dB>          smallest output SQNR accepted for dynamic and int8 (default 10)
  --edgetpu                list which of the Edge TPU compiler's requirements the file meets
                           (8-bit tensors, static shapes, batch 1, rank, supported ops and
                           their limits, parameter size; always in --json as edgeTpu)
  --json                   print one JSON object: input, output, format, quantize, ioLayout,
                           ioType, calibration {source, samples}, int8Tensors, requantized,
                           floatOperators,
                           sizeBytes {onnx, tflite}, opCounts, transposes, prepared, lowered,
                           float16Weights, inputs, outputs (with quantization for integer
                           I/O), agreement [{output, maxAbsDiff, relativeDiff,
                           cosineSimilarity, sqnrDb, top1Agreement, samples}], tolerance,
                           minSqnrDb, runtimes, edgeTpu {meets, requirements [{requirement,
                           met, detail}], perChannelWeights, parameterBytes}
  -h, --help               show this help

Examples:
  edgeml export det.onnx -o det.tflite --shape x=1x3x640x640
  edgeml export classifier.onnx -o classifier.fp16.tflite --quantize fp16 --io-layout nhwc --json
  edgeml export classifier.onnx -o classifier.int8.tflite --quantize int8 --calibration samples/ --io-type int8`,
  options: {
    output: { type: 'string', short: 'o' },
    quantize: { type: 'string' },
    'io-layout': { type: 'string' },
    'io-type': { type: 'string' },
    calibration: { type: 'string' },
    'min-sqnr': { type: 'string' },
    edgetpu: { type: 'boolean' },
    'float-fallback': { type: 'boolean' },
    shape: { type: 'string', multiple: true },
    fix: { type: 'string', multiple: true },
    tolerance: { type: 'string' },
  },
  async run({ values, positionals, stdout, stderr }) {
    if (positionals.length !== 1) throw new UsageError(`expected one input model, got ${positionals.length}`, 'export');
    const report = await runExport(values, positionals[0], stderr);
    stdout(values.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report, !!values.edgetpu));
  },
};
