import * as fs from 'node:fs';
import { Tensor, type Backend, type Model } from '@edgeml/core';
import { loadModel } from '@edgeml/core/node';
import { quantize, type QuantizeOptions } from '@edgeml/quantize';
import { compare } from '@edgeml/benchmark';
import { resolveCliBackend } from '../backends.js';
import type { Command } from '../command.js';
import { intOption } from '../options.js';
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
  latencyP99Ms: number;
  /** Float p50 ÷ this p50, measured interleaved in one run. */
  speedup: number;
}

/** 512-sample windows at 16 kHz: tones with a moving pitch, bursts, and noise. */
function windows(n: number): Record<string, Tensor>[] {
  let seed = 7;
  const noise = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32 - 0.5;
  return Array.from({ length: n }, (_, w) => ({
    input: Tensor.from(
      'float32',
      [1, 512],
      Float32Array.from(
        { length: 512 },
        (_, i) =>
          (w % 3 ? 0.4 * Math.sin((2 * Math.PI * (150 + 20 * w) * i) / 16000) * (1 + Math.sin(i / 40)) : 0) +
          0.02 * noise(),
      ),
    ),
    sr: Tensor.from('int64', [], [16000n]),
    h: Tensor.from('float32', [2, 1, 64], new Float32Array(128)),
    c: Tensor.from('float32', [2, 1, 64], new Float32Array(128)),
  }));
}

async function speechProbabilities(backend: Backend, model: Model, feeds: Record<string, Tensor>[]): Promise<number[]> {
  const session = await backend.createSession(model, { intraOpThreads: 1 });
  const probs: number[] = [];
  for (const f of feeds) probs.push((await session.run(f)).output.toFloat64()[0]);
  await session.dispose();
  return probs;
}

/** Quantize the embedded Silero VAD model several ways, check each against float, time them. */
export async function runDemo(runs = 200): Promise<DemoRow[]> {
  const file = defaultModelPath();
  const float = await loadModel(file);
  const backend = await resolveCliBackend('node');
  const feeds = windows(24);
  const variants: [string, QuantizeOptions][] = [
    ['fp16 weights and compute', { mode: 'fp16', backend, evaluationData: feeds }],
    ['int8 dynamic (LSTM weights)', { mode: 'dynamic', backend, evaluationData: feeds }],
    [
      'int8 dynamic (LSTM + Conv as ConvInteger)',
      { mode: 'dynamic', opTypes: ['LSTM', 'Conv'], backend, evaluationData: feeds },
    ],
  ];
  const models: [string, Model, number, number][] = [['float32 (original)', float, fs.statSync(file).size, Infinity]];
  for (const [variant, options] of variants) {
    const r = await quantize(float, options);
    models.push([variant, r.model, r.sizeAfter, r.outputErrors!.find((e) => e.name === 'output')!.sqnrDb]);
  }
  // Timing: every variant interleaved run by run on the same window, so drift hits all alike.
  const { results } = await compare(
    models.map(([label, model]) => ({ model, label })),
    { backend, runs, warmup: 20, threads: 1, inputs: { values: feeds[1] } },
  );
  const base = await speechProbabilities(backend, float, feeds);
  const rows: DemoRow[] = [];
  for (const [i, [variant, model, sizeBytes, sqnrDb]] of models.entries()) {
    const probs = i === 0 ? base : await speechProbabilities(backend, model, feeds);
    const t = results[i];
    rows.push({
      variant,
      sizeBytes,
      maxProbabilityDiff: Math.max(...probs.map((p, k) => Math.abs(p - base[k]))),
      sqnrDb,
      latencyP50Ms: t.latencyMs.p50,
      latencyP99Ms: t.latencyMs.p99,
      speedup: t.speedup,
    });
  }
  return rows;
}

export const demoCommand: Command = {
  name: 'demo',
  summary: 'quantize the embedded Silero VAD model, check it against float, and time it',
  usage: 'edgeml demo [--runs N] [--json]',
  help: `Quantizes the embedded default model (Silero VAD) to fp16 and to dynamic int8, runs
every variant and the original on the same 24 audio windows in onnxruntime-node, and
prints size, agreement with the float model (speech probability, output SQNR), and
p50/p99 latency and speed-up from @edgeml/benchmark, all variants interleaved run by run
(one thread).

Options:
  --runs <n>   timed runs per variant (default 200)
  --json       print the rows as one JSON array
  -h, --help   show this help`,
  options: { runs: { type: 'string' } },
  async run({ values, stdout }) {
    const runs = intOption(values, 'runs', 1, 200)!;
    const rows = await runDemo(runs);
    if (values.json) {
      stdout(JSON.stringify(rows, (_, v: unknown) => (v === Infinity ? null : v), 2) + '\n');
      return;
    }
    const header = ['variant', 'size', 'max |Δ prob|', 'SQNR', 'p50 latency', 'p99 latency', 'speed-up'];
    const body = rows.map((r) => [
      r.variant,
      fmtBytes(r.sizeBytes),
      r.maxProbabilityDiff.toFixed(4),
      Number.isFinite(r.sqnrDb) ? `${r.sqnrDb.toFixed(1)} dB` : '—',
      `${r.latencyP50Ms.toFixed(3)} ms`,
      `${r.latencyP99Ms.toFixed(3)} ms`,
      `${r.speedup.toFixed(2)}×`,
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
    const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i])).join('  ');
    stdout(
      `Silero VAD (${defaultModelPath()}) on onnxruntime-node, 24 audio windows\n\n${[line(header), line(widths.map((w) => '-'.repeat(w))), ...body.map(line)].join('\n')}\n\n` +
        'Smaller is not always faster: on a CPU, onnxruntime runs fp16 through float32 casts and its\n' +
        'ConvInteger kernel is slow; static QDQ is the fast int8 path for convolutions (docs/benchmarks.md).\n',
    );
  },
};
