import * as fs from 'node:fs';
import { InvalidArgumentError, decodeNpy, type Tensor } from '@edgeml/core';
import { writeFileAtomic } from '@edgeml/core/node';
import {
  benchmark,
  benchmarkEnvironment,
  compare,
  renderHtml,
  renderMarkdown,
  renderText,
  type BenchmarkReport,
  type BenchmarkResult,
  type Thresholds,
} from '@edgeml/benchmark';
import type { Command, CommandContext } from '../command.js';
import { intOption, numberOption, pairsOption, shapesOption } from '../options.js';
import { UsageError } from '../cli-error.js';
import { cliBackendForFile, type CliBackend } from '../backends.js';
import { progressBar, progressEnabled } from '../progress.js';

function thresholds(values: CommandContext['values']): Partial<Thresholds> {
  const t: Partial<Thresholds> = {};
  for (const [k, raw] of pairsOption(values, 'threshold', 'bench')) {
    if (k === 'statistic') {
      if (!['mean', 'p50', 'p90', 'p95', 'p99', 'max'].includes(raw))
        throw new InvalidArgumentError(
          `--threshold statistic must be mean, p50, p90, p95, p99 or max, got '${raw}'`,
          'threshold',
        );
      t.latencyStatistic = raw as Thresholds['latencyStatistic'];
      continue;
    }
    const n = Number(raw);
    if (!(n > 0))
      throw new InvalidArgumentError(`--threshold ${k} must be a positive number, got '${raw}'`, 'threshold');
    if (k === 'realtime') t.realtimeMs = n;
    else if (k === 'interactive') t.interactiveMs = n;
    else if (k === 'mobile') t.mobileBytes = n * 1e6;
    else if (k === 'embedded') t.embeddedBytes = n * 1e6;
    else
      throw new InvalidArgumentError(
        `--threshold takes realtime, interactive (ms), mobile, embedded (MB) or statistic; got '${k}'`,
        'threshold',
      );
  }
  return t;
}

/** The document `edgeml bench --json` prints. */
export type BenchJson = BenchmarkReport;

export const benchCommand: Command = {
  name: 'bench',
  summary: 'measure latency percentiles, throughput, memory and size; compare models side by side',
  usage:
    'edgeml bench <model.onnx|model.tflite>... [--baseline model] [--backend node|web-wasm|tflite] [--runs N | --duration S] [--warmup N] [--threads N] [--shape name=1x3x224x224] [--input name=file.npy] [--fill name=value] [--profile] [--isolate] [--json] [--md report.md] [--html report.html]',
  help: `Runs each model on the chosen backend and reports size, session init, first run, latency
mean/std/min/max/p50/p90/p95/p99, throughput, peak memory, CPU time, and the field's targets
(real-time < 50 ms, interactive < 200 ms at p95; mobile < 20 MB, embedded < 5 MB). With two or
more models (or --baseline), runs them interleaved A B A B … on the same inputs and adds
speed-up, size ratio and output agreement (max |diff|, cosine, top-1) against the baseline
(the first model unless --baseline names one).

.tflite files run on TensorFlow Lite's own interpreter compiled to WebAssembly (backend tflite,
from @tensorflow/tfjs-tflite), whatever --backend says: \`edgeml bench model.onnx model.tflite\`
compares ONNX on onnxruntime with the .tflite on TFLite side by side. Inputs and outputs are
matched by name, or by position when the two converters named them differently (same count,
dtypes and fixed dimensions); the agreement column then says so.

Inputs are seeded random data shaped from the model (floats in [0, 1), integers 0–9) unless
given: --shape sets dynamic dimensions, --input feeds a .npy file, --fill a constant.

Options:
  --backend <name>          node (onnxruntime-node) or web-wasm (onnxruntime-web's wasm
                            runtime, in this Node process) for ONNX models (default node);
                            .tflite files always run on tflite
  --runs <n>                timed runs per model (default 100)
  --duration <s>            run for this many seconds instead
  --warmup <n>              untimed runs first (default 10)
  --threads <n>             intra-op threads (default: the runtime's); for web-wasm, the
                            size of onnxruntime-web's wasm thread pool
  --shape name=AxBxC        concrete shape for an input with dynamic dimensions (repeatable)
  --input name=file.npy     real data for an input (repeatable)
  --fill name=value         an input filled with one number, e.g. sr=16000 (repeatable)
  --seed <n>                seed of the random inputs (default 1)
  --baseline <model>        model the others are compared with (.onnx or .tflite)
  --profile                 add a per-op profile (from a separate profiling session)
  --isolate                 each model in its own process, so memory figures do not mix
  --threshold key=value     change a target: realtime, interactive (ms), mobile, embedded (MB),
                            statistic (p50, p90, p95, p99, mean, max) (repeatable)
  --md <file>               also write a Markdown report
  --html <file>             also write a self-contained HTML report with charts
  --json                    print { environment, results } as one JSON document
  -h, --help                show this help

Example:
  edgeml bench silero.onnx silero.int8.onnx --shape input=1x512 --fill sr=16000 --threads 1 --html report.html
  edgeml bench embedding_model.onnx embedding_model.tflite --threads 1 --runs 200`,
  options: {
    backend: { type: 'string' },
    runs: { type: 'string' },
    duration: { type: 'string' },
    warmup: { type: 'string' },
    threads: { type: 'string' },
    shape: { type: 'string', multiple: true },
    input: { type: 'string', multiple: true },
    fill: { type: 'string', multiple: true },
    seed: { type: 'string' },
    baseline: { type: 'string' },
    profile: { type: 'boolean' },
    isolate: { type: 'boolean' },
    threshold: { type: 'string', multiple: true },
    md: { type: 'string' },
    html: { type: 'string' },
  },
  async run({ values, positionals, stdout, stderr }) {
    const models = [...(typeof values.baseline === 'string' ? [values.baseline] : []), ...positionals];
    if (positionals.length === 0) throw new UsageError('give at least one model file', 'bench');
    for (const m of models)
      if (!fs.existsSync(m)) throw new InvalidArgumentError(`model file '${m}' does not exist`, 'model');
    if (values.runs !== undefined && values.duration !== undefined)
      throw new UsageError('give --runs or --duration, not both', 'bench');
    const runs = intOption(values, 'runs');
    const duration = numberOption(values, 'duration', (n) => n > 0, 'a positive number of seconds');
    const shapes = shapesOption(values, 'bench');
    const inputValues: Record<string, Tensor> = Object.fromEntries(
      pairsOption(values, 'input', 'bench').map(([k, file]) => {
        if (!fs.existsSync(file))
          throw new InvalidArgumentError(`--input ${k}: file '${file}' does not exist`, 'input');
        return [k, decodeNpy(fs.readFileSync(file), file)];
      }),
    );
    const fills = Object.fromEntries(
      pairsOption(values, 'fill', 'bench').map(([k, v]) => {
        if (!Number.isFinite(Number(v)))
          throw new InvalidArgumentError(`--fill ${k} takes a number, got '${v}'`, 'fill');
        return [k, Number(v)];
      }),
    );
    const threads = intOption(values, 'threads', 0);
    const onnxBackend = typeof values.backend === 'string' ? values.backend : 'node';
    const backends: CliBackend[] = [];
    for (const m of models) backends.push(await cliBackendForFile(m, onnxBackend, threads));
    const common = {
      backend: backends[0].backend,
      runs,
      durationMs: duration === undefined ? undefined : duration * 1000,
      warmup: intOption(values, 'warmup', 0),
      threads,
      inputs: { shapes, values: inputValues, fills, seed: intOption(values, 'seed', 0) },
      profile: values.profile === true,
      thresholds: thresholds(values),
    };
    const bar = progressBar(stderr, 'runs', progressEnabled(values.json as boolean | undefined));
    const progress = (done: number, total: number | undefined) => bar.update(done, total);
    let results: BenchmarkResult[];
    if (models.length === 1 && !values.isolate) {
      results = [await benchmark(models[0], { ...common, onProgress: progress })];
    } else {
      let done = 0;
      const total = runs === undefined ? undefined : runs * models.length;
      results = (
        await compare(
          models.map((model, i) => ({ model, backend: backends[i].backend, isolation: backends[i].isolation })),
          {
            ...common,
            isolate: values.isolate ? backends[0].isolation : undefined,
            onRun: () => progress(++done, total),
          },
        )
      ).results;
    }
    const report: BenchmarkReport = { environment: benchmarkEnvironment(), results };
    if (typeof values.md === 'string')
      await writeFileAtomic(values.md, (fd) => void fs.writeSync(fd, renderMarkdown(report)));
    if (typeof values.html === 'string')
      await writeFileAtomic(values.html, (fd) => void fs.writeSync(fd, renderHtml(report)));
    stdout(
      values.json
        ? JSON.stringify(report, (_, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n'
        : renderText(report),
    );
  },
};
