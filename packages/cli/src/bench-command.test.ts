/** `edgeml bench` end to end on real models through onnxruntime-node. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tensor, encodeNpy } from '@edgeml/core';
import { runCli } from './testing/run-cli.js';
import { defaultModelPath } from './default-model.js';
import type { BenchJson } from './commands/bench.js';

const MNIST = path.join(__dirname, '..', '..', '..', 'tests', 'fixtures', 'mnist-cnn.onnx');
const SILERO = defaultModelPath();
const SILERO_ARGS = ['--shape', 'input=1x512', '--fill', 'sr=16000'];

describe('edgeml bench', () => {
  it('--json prints one document with the environment and every required figure', async () => {
    const r = await runCli([
      'bench',
      SILERO,
      ...SILERO_ARGS,
      '--runs',
      '20',
      '--warmup',
      '2',
      '--threads',
      '1',
      '--json',
    ]);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out) as BenchJson;
    expect(doc.environment.cores).toBe(os.cpus().length);
    expect(doc.environment.node).toBe(process.version);
    const [res] = doc.results;
    expect(res.model).toBe(SILERO);
    expect(res.sizeBytes).toBe(fs.statSync(SILERO).size);
    for (const k of ['initMs', 'firstRunMs', 'throughputPerSec', 'peakRssBytes'] as const)
      expect(res[k]).toBeGreaterThan(0);
    expect(res.runs).toBe(20);
    expect(Object.keys(res.latencyMs).sort()).toEqual(['max', 'mean', 'min', 'p50', 'p90', 'p95', 'p99', 'std']);
  });

  it('compares against a baseline with speed-up, size ratio and agreement, and writes Markdown', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-bench-'));
    const md = path.join(dir, 'report.md');
    const r = await runCli([
      'bench',
      MNIST,
      '--baseline',
      MNIST,
      '--runs',
      '5',
      '--warmup',
      '1',
      '--profile',
      '--md',
      md,
      '--json',
    ]);
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.out) as BenchJson & {
      results: { speedup: number; sizeRatio: number; agreement?: { top1Agreement?: number }[] }[];
    };
    expect(doc.results).toHaveLength(2);
    expect(doc.results[1].sizeRatio).toBe(1);
    expect(doc.results[1].speedup).toBeGreaterThan(0);
    expect(doc.results[1].agreement![0].top1Agreement).toBe(1);
    const text = fs.readFileSync(md, 'utf8');
    expect(text).toContain('| model | backend | size |');
    expect(text).toContain('## Profile: ' + MNIST);
    expect(text).toMatch(/\| Conv \| [\d.]+ \|/);
  });

  it("--backend web-wasm runs onnxruntime-web's wasm runtime with the thread count given, also isolated", async () => {
    const r = await runCli(['bench', MNIST, '--backend', 'web-wasm', '--threads', '1', '--runs', '5', '--json']);
    expect(r.code).toBe(0);
    const [res] = (JSON.parse(r.out) as BenchJson).results;
    expect(res).toMatchObject({ backend: 'onnxruntime-web', threads: 1, executionProviders: ['wasm'], runs: 5 });
    const iso = await runCli([
      'bench',
      MNIST,
      '--backend',
      'web-wasm',
      '--threads',
      '1',
      '--runs',
      '3',
      '--isolate',
      '--json',
    ]);
    expect(iso.code).toBe(0);
    const [child] = (JSON.parse(iso.out) as BenchJson).results;
    expect(child.backend).toBe('onnxruntime-web');
    expect(child.pid).not.toBe(process.pid);
  });

  it('prints a table on a terminal', async () => {
    const r = await runCli(['bench', MNIST, '--runs', '3']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/model\s+backend\s+size\s+init ms\s+p50 ms/);
    expect(r.out).toContain('targets all met');
  });

  it('gives a clear reason and exit code 1 for bad input', async () => {
    const npy = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-bench-')), 'x.npy');
    fs.writeFileSync(npy, encodeNpy(Tensor.from('float32', [1, 1, 28, 28], new Float32Array(784))));
    const cases: [string[], RegExp][] = [
      [['bench', 'no-such.onnx'], /model file 'no-such.onnx' does not exist/],
      [
        ['bench', SILERO, '--shape', 'input=1x2x3'],
        /\[1x2x3\] for input 'input' does not fit the model's shape \[batch, sequence\]/,
      ],
      [['bench', MNIST, '--backend', 'tpu'], /unknown backend 'tpu'; choose one of node, web-wasm/],
      [['bench', MNIST, '--runs', '0'], /--runs must be an integer ≥ 1, got '0'/],
      [['bench', MNIST, '--input', 'pixels=' + npy], /no input 'pixels'.*image/],
      [['bench', MNIST, '--fill', 'image=abc'], /--fill image takes a number/],
      [['bench', MNIST, '--threshold', 'speedy=3'], /--threshold takes realtime/],
    ];
    for (const [argv, message] of cases) {
      const r = await runCli(argv);
      expect(r.code, argv.join(' ')).toBe(1);
      expect(r.err).toMatch(message);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.out).toBe('');
    }
    expect((await runCli(['bench'])).code).toBe(2);
  });
});
