import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError, compressedSize, modelFigures, type Model, type PreparedStep } from '@edgeml/core';
import { loadModel, saveModel } from '@edgeml/core/node';
import { TrainableModel, fineTune, loadMnist } from '@edgeml/distill';
import { compare } from '@edgeml/benchmark';
import { prune, pruningSchemes, type Criterion, type PruneOptions } from '@edgeml/prune';
import { resolveCliBackend } from '../backends.js';
import type { Command, CommandContext } from '../command.js';
import { UsageError } from '../cli-error.js';
import { forModel } from '../model-data.js';
import { choiceOption, listOption, numberOption, stringOption } from '../options.js';
import { verifyOutputModel } from '../verify-output.js';
import { fixedInputs, withFixedInputs } from '../fixed-inputs.js';

/** The document `edgeml prune --json` prints. */
export interface PruneReport {
  input: string;
  output: string;
  /** A method of the pruning registry (channel, magnitude, nm, or one the application registered). */
  method: string;
  paramsBefore: number;
  paramsAfter: number;
  macsBefore: number;
  macsAfter: number;
  sizeBefore: number;
  sizeAfter: number;
  /** gzip sizes (core's compressedSize): what unstructured sparsity buys. */
  gzipBefore: number;
  gzipAfter: number;
  sparsity?: number;
  /** Channels kept per group of producing nodes (channel method). */
  groups?: { producers: string[]; channelsBefore: number; channelsAfter: number }[];
  skipped: { name: string; reason: string }[];
  /** What was done to the model before pruning (Constant-node weights lifted, ...). */
  prepared: PreparedStep[];
  fineTuned?: { epochs: number; validationAccuracy?: number };
  /** With --bench: p50 latency of both on onnxruntime-node (1 thread, interleaved), and the speed-up. */
  latency?: { beforeMs: number; afterMs: number; speedup: number };
}

export const pruneCommand: Command = {
  name: 'prune',
  summary: 'remove channels (structured) or zero weights (magnitude, N:M); optionally fine-tune',
  // Methods come from the scheme registry, so a registered method shows up here too.
  get usage() {
    return `edgeml prune <in.onnx> -o <out.onnx> [--method ${pruningSchemes.names().join('|')}] [--ratio 0.5] [--criterion l1|l2|bn|random] [--nm 2:4] [--round-to 8] [--exclude node:name] [--fine-tune mnist --epochs N] [--bench] [--json]`;
  },
  get help() {
    return `Methods (--method, default channel):
${pruningSchemes
  .list()
  .map((s) => `  ${s.name.padEnd(24)}  ${s.summary}`)
  .join('\n')}

channel: finds the groups of channels that must go together (Conv → BatchNorm →
activation → next Conv/Gemm, residual Adds, Concat, depthwise convolutions, Flatten → Gemm) and
removes the least important, shrinking every weight that touches them: a smaller, faster model
on any runtime. Graph outputs keep their shapes; groups it cannot prove safe are listed.
magnitude: zeroes the smallest weights (a dense runtime gains nothing but compressibility).
nm: N:M semi-structured sparsity (2:4 by default) along the reduction axis.

Options:
  -o, --output <file>       where to write the result (atomic)
  --method <m>              one of the methods above
  --ratio <r>               share of channels (or weights) to remove, 0 <= r < 1 (default 0.5)
  --criterion <c>           channel importance: l1 (default), l2, bn (BatchNorm |gamma|), random
  --global                  one threshold across layers instead of the same share per layer
  --nm <N:M>                for --method nm (default 2:4)
  --round-to <n>            keep channel counts multiples of n
  --exclude <node:name>     leave a node's channels (or weights) alone (repeatable, comma lists allowed)
  --fine-tune <data>        after pruning, train on 'mnist' with @edgeml/distill (labels, Adam)
  --epochs <n>              fine-tuning epochs (default 2)
  --bench                   also time both models on onnxruntime-node (@edgeml/benchmark, interleaved)
  --fix <name=value>        fix an input to a constant first (repeatable), e.g. sr=16000: an If on
                            it is inlined, so channels inside its branch are pruned like any others
  --json                    print { paramsBefore, paramsAfter, macsBefore, macsAfter, sizeBefore, sizeAfter, skipped, … }
  -h, --help                show this help

Example:
  edgeml prune model.onnx -o model.slim.onnx --ratio 0.5 --round-to 8 --json`;
  },
  options: {
    output: { type: 'string', short: 'o' },
    method: { type: 'string' },
    ratio: { type: 'string' },
    criterion: { type: 'string' },
    global: { type: 'boolean' },
    nm: { type: 'string' },
    'round-to': { type: 'string' },
    exclude: { type: 'string', multiple: true },
    'fine-tune': { type: 'string' },
    epochs: { type: 'string' },
    bench: { type: 'boolean' },
    fix: { type: 'string', multiple: true },
  },
  async run({ values, positionals, stdout }) {
    const [input] = positionals;
    const output = stringOption(values, 'output');
    if (!input || !output) throw new UsageError('give an input model and -o <output>', 'prune');
    if (path.resolve(input) === path.resolve(output))
      throw new UsageError('the output must not overwrite the input model', 'prune');
    if (!fs.existsSync(input)) throw new InvalidArgumentError(`model file '${input}' does not exist`, 'model');
    const options = pruneOptions(values);
    const model = await loadModel(input);
    const before = modelFigures(model);
    const report: PruneReport = {
      input,
      output,
      method: options.method,
      paramsBefore: before.params,
      paramsAfter: 0,
      macsBefore: before.macs,
      macsAfter: 0,
      sizeBefore: fs.statSync(input).size,
      sizeAfter: 0,
      gzipBefore: await compressedSize(model),
      gzipAfter: 0,
      skipped: [],
      prepared: [],
    };
    const specialize = fixedInputs(values, model, 'prune');
    const r = await prune(model, { ...options, specialize });
    Object.assign(report, { groups: r.groups, skipped: r.skipped ?? [], sparsity: r.sparsity, prepared: r.prepared });
    let result = r.model;
    if (stringOption(values, 'fine-tune'))
      ({ model: result, fineTuned: report.fineTuned } = await fineTuneOnMnist(values, result));
    await verifyOutputModel(result, withFixedInputs(model, specialize), await resolveCliBackend('node'), 'pruned');
    await saveModel(output, result);
    const after = modelFigures(result);
    Object.assign(report, {
      paramsAfter: after.params,
      macsAfter: after.macs,
      sizeAfter: fs.statSync(output).size,
      gzipAfter: await compressedSize(result),
    });
    if (values.bench) report.latency = await benchBoth(input, output);
    stdout(values.json ? JSON.stringify(report, null, 2) + '\n' : formatPrune(report, values));
  },
};

/** The flags of the chosen method as its prune() options; the scheme's validate checks their values. */
function pruneOptions(values: CommandContext['values']): PruneOptions {
  const method = choiceOption(values, 'method', pruningSchemes.names(), 'prune', 'channel')!;
  const ratio = numberOption(values, 'ratio', (n) => n >= 0 && n < 1, 'in [0, 1)', 0.5)!;
  const criterion: Criterion = choiceOption(values, 'criterion', ['l1', 'l2', 'bn', 'random'] as const, 'prune', 'l1')!;
  const exclude = listOption(values, 'exclude').map((e) => {
    if (!e.startsWith('node:')) throw new UsageError(`--exclude takes node:<name>, got '${e}'`, 'prune');
    return e.slice(5);
  });
  const roundTo = numberOption(values, 'round-to', (n) => Number.isInteger(n) && n >= 1, 'a positive integer');
  const nm = /^(\d+):(\d+)$/.exec(stringOption(values, 'nm') ?? '2:4');
  if (!nm) throw new UsageError(`--nm takes N:M, e.g. 2:4; got '${stringOption(values, 'nm')}'`, 'prune');
  const scope = values.global ? 'global' : undefined;
  if (method === 'channel') return { method, ratio, criterion, exclude, roundTo, scope: scope ?? 'uniform' };
  if (method === 'magnitude') return { method, ratio, exclude, scope: scope ?? 'layer' };
  if (method === 'nm') return { method, n: Number(nm[1]), m: Number(nm[2]), exclude };
  // Methods registered by the application take the common options.
  return { method, ratio, exclude };
}

/** --fine-tune mnist: a few epochs of labelled training with @edgeml/distill, held-out accuracy reported. */
async function fineTuneOnMnist(
  values: CommandContext['values'],
  model: Model,
): Promise<{ model: Model; fineTuned: NonNullable<PruneReport['fineTuned']> }> {
  if (stringOption(values, 'fine-tune') !== 'mnist')
    throw new InvalidArgumentError(
      `--fine-tune takes 'mnist' here; for other data use @edgeml/distill's fineTune`,
      'fine-tune',
    );
  const epochs = numberOption(values, 'epochs', (n) => Number.isInteger(n) && n >= 1, 'a positive integer', 2)!;
  const { train, test } = await loadMnist();
  const t = await TrainableModel.fromModel(model);
  const r = await fineTune(t, forModel(train, model), {
    epochs,
    batchSize: 64,
    learningRate: 1e-3,
    validation: forModel(test, model),
  });
  const tuned = t.toModel();
  t.dispose();
  return { model: tuned, fineTuned: { epochs, validationAccuracy: r.epochs.at(-1)?.validationAccuracy } };
}

/** --bench: both files timed interleaved on onnxruntime-node; random inputs, dynamic dimensions at 1. */
async function benchBoth(input: string, output: string): Promise<NonNullable<PruneReport['latency']>> {
  const { results } = await compare([{ model: input }, { model: output }], {
    backend: await resolveCliBackend('node'),
    runs: 200,
    warmup: 20,
    threads: 1,
  });
  return { beforeMs: results[0].latencyMs.p50, afterMs: results[1].latencyMs.p50, speedup: results[1].speedup };
}

function formatPrune(report: PruneReport, values: CommandContext['values']): string {
  const lines = [
    `pruned ${report.input} -> ${report.output} (${report.method}${report.method === 'nm' ? ` ${stringOption(values, 'nm') ?? '2:4'}` : `, ratio ${numberOption(values, 'ratio', () => true, 'a number', 0.5)}`})`,
    ...report.prepared.map((p) => `prepared   ${p.detail}`),
    `params     ${report.paramsBefore.toLocaleString()} -> ${report.paramsAfter.toLocaleString()}`,
    `MACs       ${report.macsBefore.toLocaleString()} -> ${report.macsAfter.toLocaleString()} per sample`,
    `size       ${report.sizeBefore.toLocaleString()} -> ${report.sizeAfter.toLocaleString()} bytes (gzip ${report.gzipBefore.toLocaleString()} -> ${report.gzipAfter.toLocaleString()})`,
    ...(report.sparsity !== undefined
      ? [`sparsity   ${(100 * report.sparsity).toFixed(1)} % of the pruned weights are zero`]
      : []),
    ...(report.groups ?? []).map(
      (g) => `  ${g.producers.join(' + ')}: ${g.channelsBefore} -> ${g.channelsAfter} channels`,
    ),
    ...report.skipped.map((s) => `  left alone: ${s.name} (${s.reason})`),
    ...(report.latency
      ? [
          `latency    ${report.latency.beforeMs.toFixed(3)} -> ${report.latency.afterMs.toFixed(3)} ms p50 on onnxruntime-node, 1 thread (${report.latency.speedup.toFixed(2)}x)`,
        ]
      : []),
    ...(report.fineTuned
      ? [
          `fine-tuned ${report.fineTuned.epochs} epochs on MNIST: held-out ${(100 * (report.fineTuned.validationAccuracy ?? 0)).toFixed(2)} %`,
        ]
      : []),
  ];
  return lines.join('\n') + '\n';
}
