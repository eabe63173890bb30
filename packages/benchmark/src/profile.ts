import * as fs from 'node:fs';
import { InvalidArgumentError } from '@edgeml/core';

/** Time spent in one operator type or one node over the profiled runs. */
export interface OpTime {
  /** Op type (`Conv`), or node name for per-node entries. */
  name: string;
  opType: string;
  /** Total time in microseconds over all profiled runs. */
  totalUs: number;
  /** Share of all kernel time, 0–1. */
  share: number;
  calls: number;
  /** Execution provider that ran it. */
  provider?: string;
}

/** Where a model spends its time, from a runtime profile. */
export interface OpProfile {
  /** Runs the profile covers. */
  runs: number;
  /** Kernel time per run, microseconds. */
  kernelUsPerRun: number;
  byOpType: OpTime[];
  /** The `topK` slowest nodes. */
  topNodes: OpTime[];
}

interface TraceEvent {
  cat?: string;
  name?: string;
  dur?: number;
  ts?: number;
  tid?: number;
  args?: { op_name?: string; provider?: string };
}

interface Kernel {
  node: string;
  opType: string;
  provider?: string;
  ts: number;
  dur: number;
  tid: number;
  self: number;
}

/**
 * Subgraph kernels (inside If, Loop, Scan) are traced within their parent's interval; charge
 * each kernel only its own time, so nothing is counted twice and a control-flow node keeps
 * just its overhead.
 */
function selfTimes(kernels: Kernel[]): void {
  kernels.sort((a, b) => a.tid - b.tid || a.ts - b.ts || b.dur - a.dur);
  const open: Kernel[] = [];
  for (const k of kernels) {
    while (
      open.length &&
      (open[open.length - 1].tid !== k.tid || open[open.length - 1].ts + open[open.length - 1].dur < k.ts + k.dur)
    )
      open.pop();
    if (open.length) open[open.length - 1].self -= k.dur;
    open.push(k);
  }
}

/**
 * Summarise an onnxruntime profile (Chrome trace JSON, as `enableProfiling` writes it): kernel
 * time per op type and the slowest nodes. Fences and session events are left out, and kernels
 * run inside If/Loop/Scan subgraphs count once, under their own op type, so shares add up to
 * the time spent inside kernels.
 */
export function summarizeOrtProfile(trace: unknown, runs: number, topK = 10): OpProfile {
  if (!Array.isArray(trace))
    throw new InvalidArgumentError('an onnxruntime profile is a JSON array of trace events', 'profile');
  const kernels: Kernel[] = [];
  for (const e of trace as TraceEvent[]) {
    if (e.cat !== 'Node' || !e.name?.endsWith('_kernel_time') || typeof e.dur !== 'number') continue;
    kernels.push({
      node: e.name.slice(0, -'_kernel_time'.length),
      opType: e.args?.op_name ?? '?',
      provider: e.args?.provider,
      ts: e.ts ?? 0,
      dur: e.dur,
      tid: e.tid ?? 0,
      self: e.dur,
    });
  }
  selfTimes(kernels);
  const byType = new Map<string, OpTime>();
  const byNode = new Map<string, OpTime>();
  let total = 0;
  for (const k of kernels) {
    total += k.self;
    for (const [map, key] of [
      [byType, k.opType],
      [byNode, k.node],
    ] as const) {
      const entry = map.get(key) ?? {
        name: key,
        opType: k.opType,
        totalUs: 0,
        share: 0,
        calls: 0,
        provider: k.provider,
      };
      entry.totalUs += k.self;
      entry.calls++;
      map.set(key, entry);
    }
  }
  const ranked = (m: Map<string, OpTime>) =>
    [...m.values()].map((t) => ({ ...t, share: total ? t.totalUs / total : 0 })).sort((a, b) => b.totalUs - a.totalUs);
  return {
    runs,
    kernelUsPerRun: runs ? total / runs : 0,
    byOpType: ranked(byType),
    topNodes: ranked(byNode).slice(0, topK),
  };
}

/** Read and summarise an onnxruntime profile file. */
export function readOrtProfile(file: string, runs: number, topK = 10): OpProfile {
  return summarizeOrtProfile(JSON.parse(fs.readFileSync(file, 'utf8')), runs, topK);
}
