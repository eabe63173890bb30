import * as fs from 'node:fs';
import { Tensor, type Model } from '@edgeml/core';
import { loadModel } from '@edgeml/core/node';
import { NodeBackend } from '@edgeml/runtime-node';
import { quantize, type QuantizeOptions } from '@edgeml/quantize';
import type { Command } from '../command.js';
import { UsageError } from '../cli-error.js';
import { defaultModelPath } from '../default-model.js';
import { fmtBytes } from './inspect.js';

/** One row of the demo's comparison. */
export interface DemoRow {
  variant: string;
  sizeBytes: number;
  /** Largest difference in speech probability from the float model over the test windows. */
  maxProbabilityDiff: number;
  /** Output SQNR against the float model (Infinity for the float model itself). */
  sqnrDb: number;
  latencyP50Ms: number;
}

/** 512-sample windows at 16 kHz: tones with a moving pitch, bursts, and noise. */
function windows(n: number): Record<string, Tensor>[] {
  let seed = 7;
  const noise = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5);
  return Array.from({ length: n }, (_, w) => ({
    input: Tensor.from('float32', [1, 512], Float32Array.from({ length: 512 }, (_, i) => (w % 3 ? 0.4 * Math.sin((2 * Math.PI * (150 + 20 * w) * i) / 16000) * (1 + Math.sin(i / 40)) : 0) + 0.02 * noise())),
    sr: Tensor.from('int64', [], [16000n]),
    h: Tensor.from('float32', [2, 1, 64], new Float32Array(128)),
    c: Tensor.from('float32', [2, 1, 64], new Float32Array(128)),
  }));
}

async function measure(backend: NodeBackend, model: Model, feeds: Record<string, Tensor>[], runs: number): Promise<{ probs: number[]; p50: number }> {
  const session = await backend.createSession(model, { intraOpThreads: 1 });
  const probs: number[] = [];
  for (const f of feeds) probs.push((await session.run(f)).output.toFloat64()[0]);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds[i % feeds.length]);
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  await session.dispose();
  times.sort((a, b) => a - b);
  return { probs, p50: times[Math.floor(times.length / 2)] };
}

/** Quantize the embedded Silero VAD model several ways, check each against float, time them. */
export async function runDemo(runs = 200): Promise<DemoRow[]> {
  const file = defaultModelPath();
  const float = await loadModel(file);
  const backend = new NodeBackend();
  const feeds = windows(24);
  const variants: [string, QuantizeOptions][] = [
    ['fp16 weights and compute', { mode: 'fp16', backend, evaluationData: feeds }],
    ['int8 dynamic (LSTM weights)', { mode: 'dynamic', backend, evaluationData: feeds }],
    ['int8 dynamic (LSTM + Conv as ConvInteger)', { mode: 'dynamic', opTypes: ['LSTM', 'Conv'], backend, evaluationData: feeds }],
  ];
  const base = await measure(backend, float, feeds, runs);
  const rows: DemoRow[] = [{ variant: 'float32 (original)', sizeBytes: fs.statSync(file).size, maxProbabilityDiff: 0, sqnrDb: Infinity, latencyP50Ms: base.p50 }];
  for (const [variant, options] of variants) {
    const r = await quantize(float, options);
    const m = await measure(backend, r.model, feeds, runs);
    rows.push({ variant, sizeBytes: r.sizeAfter, maxProbabilityDiff: Math.max(...m.probs.map((p, i) => Math.abs(p - base.probs[i]))), sqnrDb: r.outputErrors!.find((e) => e.name === 'output')!.sqnrDb, latencyP50Ms: m.p50 });
  }
  return rows;
}

export const demoCommand: Command = {
  name: 'demo',
  summary: 'quantize the embedded Silero VAD model, check it against float, and time it',
  usage: 'edgeml demo [--runs N] [--json]',
  help: `Quantizes the embedded default model (Silero VAD) to fp16 and to dynamic int8, runs
every variant and the original on the same 24 audio windows in onnxruntime-node, and
prints size, agreement with the float model (speech probability, output SQNR) and median
latency (one thread).

Options:
  --runs <n>   timed runs per variant (default 200)
  --json       print the rows as one JSON array
  -h, --help   show this help`,
  options: { runs: { type: 'string' } },
  async run({ values, stdout }) {
    const runs = values.runs ? Number(values.runs) : 200;
    if (!Number.isInteger(runs) || runs < 1) throw new UsageError(`--runs must be a positive integer, got '${values.runs}'`, 'demo');
    const rows = await runDemo(runs);
    if (values.json) { stdout(JSON.stringify(rows, (_, v) => (v === Infinity ? null : v), 2) + '\n'); return; }
    const header = ['variant', 'size', 'max |Δ prob|', 'SQNR', 'p50 latency'];
    const body = rows.map((r) => [r.variant, fmtBytes(r.sizeBytes), r.maxProbabilityDiff.toFixed(4), Number.isFinite(r.sqnrDb) ? `${r.sqnrDb.toFixed(1)} dB` : '—', `${r.latencyP50Ms.toFixed(3)} ms`]);
    const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
    const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
    stdout(`Silero VAD (${defaultModelPath()}) on onnxruntime-node, 24 audio windows\n\n${[line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n')}\n\n`
      + 'Smaller is not always faster: on a CPU, onnxruntime runs fp16 through float32 casts and its\n'
      + 'ConvInteger kernel is slow; static QDQ is the fast int8 path for convolutions (docs/benchmarks.md).\n');
  },
};
