// Worker side: every variant benchmarked on onnxruntime-web in this worker, interleaved run by
// run against the original (@edgeml/benchmark's compare), and the report it renders.
import { compare, renderHtml, type Candidate, type ComparisonResult } from '@edgeml/benchmark';
import type { Backend } from '@edgeml/core';
import type { BenchCandidate, BenchRow, BenchSummary, InputShapes } from './protocol.js';

interface GpuNavigator {
  gpu?: { requestAdapter(): Promise<unknown> };
  hardwareConcurrency: number;
  platform: string;
  userAgent: string;
}

/** WebGPU runs only where the browser has an adapter (headless Chromium without a GPU has none). */
async function webgpuAvailability(): Promise<string | undefined> {
  const gpu = (navigator as unknown as GpuNavigator).gpu;
  if (!gpu) return 'not offered by this browser';
  try {
    return (await gpu.requestAdapter()) ? undefined : 'no WebGPU adapter on this device';
  } catch (e) {
    return `no WebGPU adapter: ${(e as Error).message}`;
  }
}

function rowOf(r: ComparisonResult): BenchRow {
  const worst = (pick: (a: NonNullable<ComparisonResult['agreement']>[number]) => number | undefined, min: boolean) => {
    const values = (r.agreement ?? []).map(pick).filter((v): v is number => v !== undefined);
    return values.length ? (min ? Math.min(...values) : Math.max(...values)) : undefined;
  };
  return {
    label: r.model,
    executionProvider: r.executionProviders?.join(', ') ?? 'wasm',
    sizeBytes: r.sizeBytes,
    initMs: r.initMs,
    p50: r.latencyMs.p50,
    p95: r.latencyMs.p95,
    p99: r.latencyMs.p99,
    speedup: r.speedup,
    maxAbsDiff: worst((a) => a.maxAbsDiff, false),
    cosine: worst((a) => a.cosineSimilarity, true),
    top1: worst((a) => a.top1Agreement, true),
    targets: r.targets.map((t) => ({ target: t.target, met: t.met, value: t.value, limit: t.limit })),
    samplesMs: r.samplesMs,
  };
}

export async function benchmarkVariants(
  candidates: BenchCandidate[],
  options: { runs: number; agreementSamples: number; threads: number; shapes: InputShapes },
  backend: Backend,
  onProgress: (done: number, total: number) => void,
): Promise<BenchSummary> {
  const webgpuMissing = await webgpuAvailability();
  const list: Candidate[] = candidates.map((c) => ({ model: c.bytes, label: c.label }));
  if (!webgpuMissing)
    for (const c of candidates)
      list.push({ model: c.bytes, label: `${c.label} (webgpu)`, session: { executionProviders: ['webgpu'] } });
  const total = options.runs * list.length;
  let done = 0;
  const { results } = await compare(list, {
    backend,
    runs: options.runs,
    warmup: 5,
    agreementSamples: options.agreementSamples,
    inputs: { shapes: options.shapes },
    onRun: () => onProgress(++done, total),
  });
  const nav = navigator as unknown as GpuNavigator;
  const environment = {
    cpuModel: 'this device',
    cores: nav.hardwareConcurrency,
    cpuFlags: [],
    os: nav.platform,
    arch: `onnxruntime-web, ${options.threads} wasm thread(s)`,
    node: '',
    totalMemoryBytes: 0,
    browser: nav.userAgent,
  };
  return {
    rows: results.map(rowOf),
    reportHtml: renderHtml({ environment, results }, 'EdgeML Studio: benchmark on this device'),
    threads: options.threads,
    webgpu: webgpuMissing ? `WebGPU not run: ${webgpuMissing}` : 'WebGPU ran beside wasm',
  };
}
