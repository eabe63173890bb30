/**
 * The real-model suite's harness: the pinned models (scripts/real-models.json) from the model
 * cache, the `edgeml` CLI run as a user runs it (a child process, `--json`), and each result
 * judged by third parties: onnxruntime-node loads and runs the written file, the official ONNX
 * checker validates it, and an independent reading of the protobuf (Python onnx) says what
 * weights a model holds, so "nothing to quantize" on a model full of weights is caught.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ort from 'onnxruntime-node';
import { encodeNpy, type Tensor } from '@edgeml/core';
import type { InputRecipe, Sample } from './real-model-data.js';

export const ROOT = path.resolve(import.meta.dirname, '../..');
export const CLI = path.join(ROOT, 'packages/cli/dist/bin.js');

export interface ModelEntry {
  id: string;
  package: string;
  version: string;
  path: string;
  sha256: string;
  exporter: string;
  kind: string;
  inputs: Record<string, InputRecipe>;
}

export interface Suite {
  models: ModelEntry[];
  /** id → cached file, for models and assets. */
  files: Record<string, string>;
}

/**
 * The manifest and its cached files, checked (sha256) by the fetch script itself, so the cache
 * layout has one home. A missing cache is an error that says what to run, never a skip.
 */
export function loadSuite(): Suite {
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'scripts/real-models.json'), 'utf8'));
  const check = spawnSync(process.execPath, [path.join(ROOT, 'scripts/fetch-models.mjs'), '--check', '--json'], {
    encoding: 'utf8',
  });
  if (check.status !== 0)
    throw new Error(
      `the real-model cache is missing or stale; run 'node scripts/fetch-models.mjs' first (scripts/test-all.sh does):\n${check.stderr}`,
    );
  return { models: manifest.models, files: JSON.parse(check.stdout).files };
}

/** What an independent reader (Python onnx) finds in a file. */
export interface ModelFacts {
  /** Default-domain opset. */
  opset: number | null;
  /** float32 elements of initializers and Constant nodes (subgraphs included) of 16 elements or more. */
  weightElements: number;
  /** Nodes per op type whose weight input is such a constant (Conv, Gemm, MatMul, Gather, LSTM, …). */
  weightedOps: Record<string, number>;
}

const FACTS = `
import json, sys, onnx
from math import prod
FLOAT = onnx.TensorProto.FLOAT
WEIGHT_INPUTS = {'Conv': (1,), 'ConvTranspose': (1,), 'Gemm': (1,), 'MatMul': (0, 1), 'Gather': (0,), 'LSTM': (1, 2), 'GRU': (1, 2)}
def facts(path):
    m = onnx.load(path)
    out = {'opset': next((o.version for o in m.opset_import if o.domain in ('', 'ai.onnx')), None), 'weightElements': 0, 'weightedOps': {}}
    def walk(g, outer):
        consts = dict(outer)  # visible constants: name -> (data type, elements)
        for t in g.initializer:
            consts[t.name] = (t.data_type, prod(t.dims))
        for n in g.node:
            if n.op_type == 'Constant' and n.domain in ('', 'ai.onnx'):
                for a in n.attribute:
                    if a.name == 'value':
                        consts[n.output[0]] = (a.t.data_type, prod(a.t.dims))
            for a in n.attribute:
                for sub in ([a.g] if a.HasField('g') else []) + list(a.graphs):
                    walk(sub, consts)
            for i in WEIGHT_INPUTS.get(n.op_type, ()):
                c = consts.get(n.input[i]) if i < len(n.input) else None
                if c and c[0] == FLOAT and c[1] >= 16:
                    out['weightedOps'][n.op_type] = out['weightedOps'].get(n.op_type, 0) + 1
                    break
        out['weightElements'] += sum(c[1] for k, c in consts.items() if k not in outer and c[0] == FLOAT and c[1] >= 16)
    walk(m.graph, {})
    return out
json.dump({p: facts(p) for p in json.load(sys.stdin)}, sys.stdout)
`;

/** One Python process for many files. */
export function modelFacts(files: string[]): Map<string, ModelFacts> {
  const res = spawnSync('/usr/bin/python3', ['-c', FACTS], {
    input: JSON.stringify(files),
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (res.status !== 0)
    throw new Error(`reading models with Python onnx failed (python3-onnx installed?): ${res.stderr}`);
  return new Map(Object.entries(JSON.parse(res.stdout) as Record<string, ModelFacts>));
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export function runCli(args: string[], timeoutMs = 180_000): CliRun {
  const start = performance.now();
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 64 << 20,
    cwd: ROOT,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, ms: performance.now() - start };
}

/** `edgeml <name>` exists when the top-level help lists it (commands are built in parallel). */
export function cliHasCommand(name: string): boolean {
  return new RegExp(`^\\s+${name}\\s`, 'm').test(runCli(['--help']).stdout);
}

/** One command a model goes through. */
export interface CommandSpec {
  /** Column name, e.g. `quantize --mode static`. */
  label: string;
  /** The CLI words after the input model and before `-o`. */
  args: string[];
  /** Does it write a model (-o)? */
  writes: boolean;
  /** Op types it works on: a "nothing to do" answer is a defect when the model has weighted ones. */
  scope: readonly string[];
  calibration?: boolean;
}

const LINEAR = ['Conv', 'ConvTranspose', 'Gemm', 'MatMul'];
export const COMMANDS: CommandSpec[] = [
  { label: 'inspect', args: ['inspect'], writes: false, scope: [...LINEAR, 'Gather', 'LSTM', 'GRU'] },
  // dynamic's default ops, from its --help (Conv only on request).
  {
    label: 'quantize --mode dynamic',
    args: ['quantize', '--mode', 'dynamic'],
    writes: true,
    scope: ['MatMul', 'Gemm', 'Gather', 'LSTM', 'GRU'],
  },
  {
    label: 'quantize --mode static',
    args: ['quantize', '--mode', 'static'],
    writes: true,
    scope: LINEAR,
    calibration: true,
  },
  {
    label: 'quantize --mode fp16',
    args: ['quantize', '--mode', 'fp16'],
    writes: true,
    scope: [...LINEAR, 'Gather', 'LSTM', 'GRU'],
    // Samples let fp16 keep the layers that overflow float16 on real inputs in float32.
    calibration: true,
  },
  {
    label: 'quantize --mode int4',
    args: ['quantize', '--mode', 'int4'],
    writes: true,
    scope: ['MatMul', 'Gemm', 'Gather'],
  },
  // The default method (channel, per prune --help) as a user first runs it, then unstructured.
  { label: 'prune', args: ['prune'], writes: true, scope: LINEAR },
  { label: 'prune --method magnitude', args: ['prune', '--method', 'magnitude'], writes: true, scope: LINEAR },
  { label: 'simplify', args: ['simplify'], writes: true, scope: [] },
];

export type Status = 'ok' | 'refused' | 'defect' | 'unavailable';

export interface Cell {
  command: string;
  status: Status;
  /** Refusal message, defect description, or what `unavailable` means. */
  reason?: string;
  /** The command line and what it printed on stderr, for defects. */
  argv?: string[];
  stderr?: string;
  ms?: number;
  sizeBefore?: number;
  sizeAfter?: number;
  /** Against the original on the held-out sample, worst over the outputs. */
  maxAbsDiff?: number;
  cosine?: number;
  /** Original latency / this model's latency (p50, bench, interleaved, 1 thread). */
  speedup?: number;
  /** What the command reported: quantized nodes, parameters, sparsity, latency, … */
  figures?: Record<string, number | string>;
  checker?: 'valid' | `skipped (opset ${number} > 17)`;
}

export interface ModelRow {
  id: string;
  package: string;
  exporter: string;
  kind: string;
  opset: number | null;
  sizeBytes: number;
  weightElements: number;
  weightedOps: Record<string, number>;
  cells: Cell[];
}

/** Messages that say a model has nothing to work on: defects when it does have such weights. */
const NOTHING_TO_DO =
  /nothing to quantize|no float32 weights|parameters 0|no Conv, Gemm or MatMul with constant weights|no [\w/]+ node with constant/i;

/** Judge a command that failed or said it found nothing, from its exit code and stderr. */
export function judgeFailure(spec: CommandSpec, run: CliRun, facts: ModelFacts): Pick<Cell, 'status' | 'reason'> {
  const lines = run.stderr.split('\n').filter((l) => l.trim());
  const inScope = spec.scope.filter((op) => facts.weightedOps[op]).map((op) => `${facts.weightedOps[op]} ${op}`);
  if (run.code === null) return { status: 'defect', reason: 'timed out' };
  if (run.code !== 1)
    return {
      status: 'defect',
      reason: `exit ${run.code}${run.code === 2 ? ' (usage error)' : ''}: ${lines.find((l) => !/^\s+at /.test(l)) ?? '(no message)'}`,
    };
  const message = lines[0] ?? '';
  if (lines.length !== 1 || !message.startsWith(`edgeml ${spec.args[0]}: `))
    return { status: 'defect', reason: `exit 1 without a one-line typed message: ${lines.slice(0, 3).join(' | ')}` };
  // The claim is checked against the file, not against the mode's reach: "no float32 weights"
  // on a model full of them is wrong even where the mode would have had nothing to do.
  if (NOTHING_TO_DO.test(message) && facts.weightElements > 0)
    return {
      status: 'defect',
      reason: `${message} — but the file holds ${facts.weightElements} float weights${inScope.length ? ` (${inScope.join(', ')} node(s) with constant weights)` : ''}`,
    };
  return { status: 'refused', reason: message };
}

/** Input `name` of every sample as one .npy file per sample, the layout `--calibration` reads. */
export function writeCalibration(dir: string, samples: Sample[]): void {
  fs.mkdirSync(dir, { recursive: true });
  samples.forEach((s, i) => {
    for (const [name, t] of Object.entries(s)) fs.writeFileSync(path.join(dir, `${name}.s${i}.npy`), encodeNpy(t));
  });
}

export const toOrt = (s: Sample): Record<string, ort.Tensor> =>
  Object.fromEntries(
    Object.entries(s).map(([k, t]: [string, Tensor]) => [
      k,
      new ort.Tensor(t.dtype as ort.Tensor.Type, t.data as Float32Array, t.dims as number[]),
    ]),
  );

/** Numbers of any numeric output (float16 outputs as their values), for comparisons. */
function values(t: ort.Tensor): Float64Array {
  const d = t.data as ArrayLike<number | bigint>;
  if (t.type === 'float16') return Float64Array.from(d as Uint16Array, halfToFloat);
  return Float64Array.from(d, Number);
}

function halfToFloat(h: number): number {
  const e = (h >> 10) & 0x1f,
    m = h & 0x3ff,
    s = h & 0x8000 ? -1 : 1;
  if (e === 0) return s * 2 ** -14 * (m / 1024);
  if (e === 31) return m ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + m / 1024);
}

/** What a file's session took and gave on one sample. */
export interface FileRun {
  inputs: string[];
  outputs: Record<string, ort.Tensor>;
}

/** Load and run a file on onnxruntime-node (default graph optimizations, as a user gets; one thread, the machine is shared); failures as text. */
export async function runFile(file: string, feeds: Record<string, ort.Tensor>): Promise<FileRun | { error: string }> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(file, { logSeverityLevel: 4, intraOpNumThreads: 1 });
  } catch (e) {
    return { error: `onnxruntime cannot load it: ${firstLine(e)}` };
  }
  try {
    const inputs = [...session.inputNames];
    const missing = inputs.filter((n) => !feeds[n]);
    if (missing.length)
      return { error: `its inputs are ${inputs.join(', ')}; the original's are ${Object.keys(feeds).join(', ')}` };
    return { inputs, outputs: await session.run(Object.fromEntries(inputs.map((n) => [n, feeds[n]]))) };
  } catch (e) {
    return { error: `onnxruntime cannot run it: ${firstLine(e)}` };
  } finally {
    await session.release();
  }
}

const firstLine = (e: unknown) =>
  String((e as Error)?.message ?? e)
    .split('\n')[0]
    .slice(0, 300);

/** Same inputs and outputs as the original, finite, and how close (worst output). */
export function compareOutputs(
  reference: FileRun,
  got: FileRun,
): { error: string } | { maxAbsDiff: number; cosine: number } {
  const sameInputs = [...got.inputs].sort().join() === [...reference.inputs].sort().join();
  if (!sameInputs)
    return { error: `inputs ${got.inputs.join(', ')} differ from the original's ${reference.inputs.join(', ')}` };
  let maxAbsDiff = 0,
    cosine = 1;
  for (const [name, ref] of Object.entries(reference.outputs)) {
    const out = got.outputs[name];
    if (!out) return { error: `output '${name}' is gone (outputs: ${Object.keys(got.outputs).join(', ')})` };
    const [a, b] = [values(ref), values(out)];
    if (a.length !== b.length) return { error: `output '${name}' has ${b.length} values, the original ${a.length}` };
    const nonFinite = b.filter((v) => !Number.isFinite(v)).length;
    if (nonFinite) return { error: `output '${name}' has ${nonFinite} non-finite values of ${b.length}` };
    let dot = 0,
      na = 0,
      nb = 0;
    for (let i = 0; i < a.length; i++) {
      maxAbsDiff = Math.max(maxAbsDiff, Math.abs(a[i] - b[i]));
      dot += a[i] * b[i];
      na += a[i] * a[i];
      nb += b[i] * b[i];
    }
    // Two all-zero outputs agree; one all-zero output against a non-zero one does not.
    cosine = Math.min(cosine, na === 0 && nb === 0 ? 1 : dot / Math.sqrt(na * nb || Infinity));
  }
  return { maxAbsDiff, cosine };
}

/**
 * The tree a suite measured, for the generated tables: the commit, whether the code differed
 * from it (the generated doc itself aside), onnxruntime-node's and Node's versions.
 */
export function measuredTree() {
  const git = (...args: string[]) => spawnSync('git', args, { cwd: ROOT, encoding: 'utf8' }).stdout.trim();
  return {
    commit: git('rev-parse', '--short', 'HEAD'),
    dirty: git('status', '--porcelain', '--', '.', ':!docs/real-models.md').length > 0,
    onnxruntime: ort.env.versions.node ?? 'unknown',
    node: process.version,
  };
}
