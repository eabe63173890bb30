import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, type Backend, type Model } from '@edgeml/core';
import { loadModel } from '@edgeml/core/node';
import { NodeBackend } from '@edgeml/runtime-node';
import { quantize } from '@edgeml/quantize';
import {
  benchmark,
  checkSpeedup,
  compare,
  measureSpeedBaseline,
  readOrtProfile,
  type BenchmarkResult,
} from '@edgeml/benchmark';
import { SILERO_VAD, maxAbsDiff, runOrt, sileroFeeds } from './support/models.js';

const MNIST = path.join(__dirname, 'fixtures', 'mnist-cnn.onnx');
const SILERO_INPUTS = { shapes: { input: [1, 512] }, fills: { sr: 16000 } };
const backend = new NodeBackend();

function expectOrdered(r: BenchmarkResult): void {
  const l = r.latencyMs;
  expect(l.min).toBeGreaterThan(0);
  for (const [a, b] of [
    [l.min, l.p50],
    [l.p50, l.p90],
    [l.p90, l.p95],
    [l.p95, l.p99],
    [l.p99, l.max],
  ])
    expect(a).toBeLessThanOrEqual(b);
}

describe('benchmark on onnxruntime-node', () => {
  it('measures Silero VAD: sizes, timings, memory and targets', async () => {
    const r = await benchmark(SILERO_VAD, { backend, runs: 40, warmup: 3, threads: 1, inputs: SILERO_INPUTS });
    expect(r.sizeBytes).toBe(fs.statSync(SILERO_VAD).size);
    expect(r.runs).toBe(40);
    expect(r.samplesMs).toHaveLength(40);
    expectOrdered(r);
    expect(r.backendVersion).toBe(ort.env.versions.node);
    expect(r.executionProviders).toEqual(['cpu']);
    expect(r.inputShapes).toEqual({ input: [1, 512], sr: [], h: [2, 1, 64], c: [2, 1, 64] });
    expect(r.peakRssBytes).toBeGreaterThan(r.peakHeapBytes);
    expect(r.cpuMsPerRun).toBeGreaterThan(0);
    expect(r.throughputPerSec).toBeGreaterThan(0);
    expect(r.targets.map((t) => [t.target, t.met])).toEqual([
      ['real-time', r.latencyMs.p95 < 50],
      ['interactive', r.latencyMs.p95 < 200],
      ['mobile size', true],
      ['embedded size', true],
    ]);
  });

  it('runs by duration, with at least the requested time spent', async () => {
    const r = await benchmark(MNIST, { backend, durationMs: 150, warmup: 0 });
    expect(r.runs).toBeGreaterThan(1);
    expect(r.samplesMs.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(150 + r.latencyMs.max + 50);
    expect(r.samplesMs.reduce((a, b) => a + b, 0) + r.runs * r.harnessOverheadMs).toBeGreaterThan(0);
  });

  it('profiles per op: with graph optimisation off, every node of the model shows once per run', async () => {
    const model = await loadModel(MNIST);
    const r = await benchmark(MNIST, {
      backend,
      runs: 5,
      session: { graphOptimizationLevel: 'disabled' },
      profile: { runs: 7, topK: 3 },
    });
    const p = r.profile!;
    expect(p.runs).toBe(7);
    const counts = new Map<string, number>();
    for (const n of model.graph) counts.set(n.opType, (counts.get(n.opType) ?? 0) + 1);
    expect(new Map(p.byOpType.map((o) => [o.opType, o.calls / 7]))).toEqual(counts);
    expect(p.byOpType.reduce((a, o) => a + o.share, 0)).toBeCloseTo(1, 9);
    expect(p.topNodes).toHaveLength(3);
    const names = new Set([...model.graph].map((n) => n.name));
    for (const n of p.topNodes) expect(names.has(n.name)).toBe(true);
  });

  it("attributes Silero's If subgraphs once: kernel time stays within onnxruntime's own run time", async () => {
    const s = await backend.createSession(SILERO_VAD, { profiling: true, intraOpThreads: 1 });
    for (let i = 0; i < 5; i++) await s.run(sileroFeeds(i));
    const file = (await s.endProfiling!())!;
    await s.dispose();
    const trace = JSON.parse(fs.readFileSync(file, 'utf8')) as {
      name: string;
      dur: number;
      cat?: string;
      args?: { op_name?: string };
    }[];
    const runs = trace.filter((e) => e.name === 'model_run');
    const runUs = runs.reduce((a, e) => a + e.dur, 0);
    const p = readOrtProfile(file, runs.length);
    expect(p.kernelUsPerRun * runs.length).toBeLessThanOrEqual(runUs);
    expect(p.kernelUsPerRun * runs.length).toBeGreaterThan(0.3 * runUs);
    // onnxruntime traces an If over the whole of its branch; the If is charged only the gaps between
    // the branch's kernels, which are charged to their own op types (how big the gaps are depends
    // on the machine's load, so the test compares with the trace, not with a share).
    const ifInclusiveUs = trace
      .filter((e) => e.cat === 'Node' && e.name.endsWith('_kernel_time') && e.args?.op_name === 'If')
      .reduce((a, e) => a + e.dur, 0);
    const ifSelfUs = p.byOpType.find((o) => o.opType === 'If')!.totalUs;
    expect(ifSelfUs).toBeLessThan(ifInclusiveUs);
    expect(p.byOpType.filter((o) => o.opType !== 'If').length).toBeGreaterThan(3);
  });

  it('reads profiles onnxruntime wrote itself', async () => {
    const s = await backend.createSession(MNIST, { profiling: true, graphOptimizationLevel: 'disabled' });
    const feeds = {
      image: (await import('@edgeml/core')).Tensor.from('float32', [1, 1, 28, 28], new Float32Array(784)),
    };
    await s.run(feeds);
    await s.run(feeds);
    const file = (await s.endProfiling!())!;
    await s.dispose();
    const p = readOrtProfile(file, 2);
    expect(p.kernelUsPerRun).toBeGreaterThan(0);
    const convs = [...(await loadModel(MNIST)).graph].filter((n) => n.opType === 'Conv').length;
    expect(p.byOpType.find((o) => o.opType === 'Conv')!.calls).toBe(2 * convs);
  });
});

describe('compare', () => {
  it('interleaves candidates A B A B and reports ratios against the baseline', async () => {
    const order: number[] = [];
    const { results, interleaved } = await compare(
      [{ model: MNIST }, { model: MNIST, label: 'same again', session: { intraOpThreads: 1 } }],
      { backend, runs: 6, warmup: 1, onRun: (i) => order.push(i) },
    );
    expect(interleaved).toBe(true);
    expect(order).toEqual([0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1]);
    expect(results[0].isBaseline).toBe(true);
    expect(results[0].speedup).toBe(1);
    expect(results[1].model).toBe('same again');
    expect(results[1].threads).toBe(1);
    expect(results[1].sizeRatio).toBe(1);
    expect(results[1].speedup).toBeCloseTo(results[0].latencyMs.p50 / results[1].latencyMs.p50, 12);
    // The same model on the same inputs agrees exactly, top-1 included (logits are class scores).
    expect(results[1].agreement).toEqual([
      {
        output: 'logits',
        maxAbsDiff: 0,
        meanAbsDiff: 0,
        sqnrDb: Infinity,
        cosineSimilarity: expect.closeTo(1, 12),
        top1Agreement: 1,
        elements: 8 * 10,
      },
    ]);
  });

  it('reports the agreement onnxruntime itself shows between float and fp16 Silero', async () => {
    const float = await loadModel(SILERO_VAD);
    const half = (await quantize(float, { mode: 'fp16' })).model;
    const feeds = sileroFeeds(3);
    const { results } = await compare([{ model: SILERO_VAD }, { model: half, label: 'fp16' }], {
      backend,
      runs: 5,
      warmup: 1,
      inputs: { values: feeds },
      session: { graphOptimizationLevel: 'disabled' },
    });
    // The oracle: both models run directly on onnxruntime-node, outputs diffed here.
    const [x, y] = [await runOrt(SILERO_VAD, feeds), await runOrt(half, feeds)];
    const diff = maxAbsDiff(x.output, y.output);
    const out = results[1].agreement!.find((x) => x.output === 'output')!;
    expect(out.maxAbsDiff).toBeCloseTo(diff, 6);
    expect(out.maxAbsDiff).toBeGreaterThan(0);
    expect(results[1].sizeRatio).toBeCloseTo(fs.statSync(SILERO_VAD).size / results[1].sizeBytes, 12);
    expect(results[1].sizeRatio).toBeGreaterThan(1.5);
  });

  it('times candidates one at a time, holding one session, with the agreement onnxruntime shows', async () => {
    const float = await loadModel(SILERO_VAD);
    const half = (await quantize(float, { mode: 'fp16' })).model;
    const feeds = sileroFeeds(3);
    // The real backend, counting the sessions it has open.
    let open = 0;
    let mostOpen = 0;
    const counting: Backend = {
      name: backend.name,
      version: backend.version,
      init: () => backend.init(),
      createSession: async (model, options) => {
        const session = await backend.createSession(model, options);
        mostOpen = Math.max(mostOpen, ++open);
        const dispose = session.dispose.bind(session);
        session.dispose = () => (open--, dispose());
        return session;
      },
    };
    const order: number[] = [];
    const { results, interleaved } = await compare([{ model: float }, { model: half, label: 'fp16' }], {
      backend: counting,
      runs: 4,
      warmup: 1,
      inputs: { values: feeds },
      oneAtATime: true,
      onRun: (i) => order.push(i),
    });
    expect(interleaved).toBe(false);
    expect(order).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
    expect(mostOpen).toBe(1);
    expect(open).toBe(0);
    const [x, y] = [await runOrt(SILERO_VAD, feeds), await runOrt(half, feeds)];
    const out = results[1].agreement!.find((a) => a.output === 'output')!;
    expect(out.maxAbsDiff).toBeCloseTo(maxAbsDiff(x.output, y.output), 6);
    expect(results[1].speedup).toBeCloseTo(results[0].latencyMs.p50 / results[1].latencyMs.p50, 12);
  });

  it('checks speed against a float baseline timed first, opening only the quantized model then', async () => {
    const float = await loadModel(SILERO_VAD);
    const half = (await quantize(float, { mode: 'fp16' })).model;
    const inputs = { values: sileroFeeds(3) };
    const opened: Model[] = [];
    const recording: Backend = {
      name: backend.name,
      version: backend.version,
      init: () => backend.init(),
      createSession: (model, options) => (opened.push(model as Model), backend.createSession(model, options)),
    };
    const baseline = await measureSpeedBaseline(float, { backend: recording, durationMs: 200, inputs });
    expect(opened.every((m) => m === float)).toBe(true);
    opened.length = 0;
    const speed = await checkSpeedup(baseline, half, { backend: recording, durationMs: 400, inputs });
    expect(speed.interleaved).toBe(false);
    expect(speed.floatP50Ms).toBe(baseline.p50Ms);
    expect(speed.speedup).toBeCloseTo(baseline.p50Ms / speed.quantizedP50Ms, 12);
    // The float model comes back only for the profile of a slower result.
    expect(opened.filter((m) => m !== half).every((m) => m === float && speed.speedup < 1)).toBe(true);
    expect(opened).toContain(half);
    const err = await checkSpeedup(baseline, half, { backend: recording, threads: 2, inputs }).catch((e) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err.message).toMatch(
      /timed on onnxruntime-node with 1 thread\(s\), but the check runs on onnxruntime-node with 2/,
    );
  });

  it('isolates each candidate in its own process', async () => {
    const isolate = {
      backendModule: createRequire(import.meta.url).resolve('../packages/runtime-node/dist/index.js'),
      backendExport: 'NodeBackend',
    };
    const { results, interleaved } = await compare([{ model: MNIST }, { model: MNIST }], {
      backend,
      runs: 5,
      warmup: 1,
      isolate,
    });
    expect(interleaved).toBe(false);
    expect(results).toHaveLength(2);
    for (const r of results) {
      expect(r.runs).toBe(5);
      expect(r.peakRssBytes).toBeGreaterThan(0);
      expect(r.pid).not.toBe(process.pid);
    }
    expect(results[0].pid).not.toBe(results[1].pid);
    await expect(
      compare([{ model: MNIST }], { backend, runs: 2, isolate: { ...isolate, backendExport: 'Nope' } }),
    ).rejects.toThrow(/has no export 'Nope'/);
  });

  it('refuses what cannot be measured, naming it', async () => {
    await expect(benchmark('missing.onnx', { backend })).rejects.toThrow(
      /cannot read model file 'missing.onnx': no such file/,
    );
    await expect(benchmark(MNIST, { backend, runs: 0 })).rejects.toThrow(/runs must be a positive integer/);
    await expect(benchmark(MNIST, { backend, runs: 3, inputs: { shapes: { pixels: [1] } } })).rejects.toThrow(
      /no input 'pixels'/,
    );
    await expect(benchmark(SILERO_VAD, { backend, runs: 3 })).rejects.toThrow(
      /dynamic dimensions ran at size 1 for input\[batch, sequence\]/,
    );
    await expect(compare([], { backend })).rejects.toThrow(/at least one candidate/);
    await expect(compare([{ model: MNIST }], { backend, baseline: 2 })).rejects.toThrow(/baseline must index/);
  });
});
