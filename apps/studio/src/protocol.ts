/**
 * Messages between the page and its worker. The worker keeps no state a cancel would lose:
 * every request carries the model bytes it works on, so cancelling is terminating the worker
 * and starting a fresh one.
 */

/** The quantization modes the page offers, by the names people see. */
export const QUANTIZATION_MODES = ['dynamic int8', 'static int8', 'fp16', 'int4'] as const;
export type QuantizationChoice = (typeof QUANTIZATION_MODES)[number];

/** A file the user dropped (calibration images or .npy files). */
export interface DroppedFile {
  name: string;
  type: string;
  bytes: Uint8Array;
}

/** One model the benchmark runs. */
export interface BenchCandidate {
  label: string;
  bytes: Uint8Array;
}

export type StudioRequest =
  | { kind: 'inspect'; fileName: string; model: Uint8Array; shapes: InputShapes }
  | { kind: 'simplify'; model: Uint8Array }
  | {
      kind: 'quantize';
      model: Uint8Array;
      mode: QuantizationChoice;
      calibration: DroppedFile[];
      /** 7-bit int8 weights, for onnxruntime on x86-64 CPUs without VNNI (wasm does not need them). */
      reduceRange: boolean;
    }
  | { kind: 'prune'; model: Uint8Array; ratio: number }
  | { kind: 'benchmark'; candidates: BenchCandidate[]; runs: number; agreementSamples: number; shapes: InputShapes };

/** Concrete shapes for inputs with dynamic dimensions (the rest count at 1), e.g. `{ x: [1, 3, 320, 320] }`. */
export type InputShapes = Record<string, number[]>;

/** The first message a worker gets: where onnxruntime-web's wasm files are and how many threads to use. */
export interface WorkerSetup {
  kind: 'setup';
  wasmPaths: { wasm: string; mjs: string };
  numThreads: number;
}

export interface IoSummary {
  name: string;
  type: string;
}

/** What Inspect shows. */
export interface InspectSummary {
  fileName: string;
  sizeBytes: number;
  irVersion: number;
  opsets: string[];
  producer: string;
  inputs: IoSummary[];
  outputs: IoSummary[];
  nodes: number;
  parameters: number;
  parameterBytes: number;
  /** Null when no Conv/Gemm/MatMul has known shapes. */
  macs: number | null;
  macsUnknownNodes: number;
  /** Whether dynamic dimensions no shape was given for were counted at 1 for the MACs. */
  macsAtBatchOne: boolean;
  opCounts: [string, number][];
  /** What quantization and pruning would do to the model first, one line each. */
  preparation: string[];
  /** Why preparation cannot run, when it cannot. */
  preparationError?: string;
}

/** An optimization's output: a new variant. */
export interface VariantOutput {
  bytes: Uint8Array;
  /** One line each: what the step changed. */
  notes: string[];
}

export interface TargetMark {
  target: string;
  met: boolean;
  value: number;
  limit: number;
}

/** One row of the comparison after a benchmark. */
export interface BenchRow {
  label: string;
  executionProvider: string;
  sizeBytes: number;
  initMs: number;
  p50: number;
  p95: number;
  p99: number;
  speedup: number;
  /** Against the original (absent for the original itself). */
  maxAbsDiff?: number;
  cosine?: number;
  top1?: number;
  targets: TargetMark[];
  samplesMs: number[];
}

export interface BenchSummary {
  rows: BenchRow[];
  /** The self-contained HTML report of @edgeml/benchmark. */
  reportHtml: string;
  threads: number;
  /** Whether WebGPU ran, or why not. */
  webgpu: string;
}

export type StudioResult = InspectSummary | VariantOutput | BenchSummary;

export type WorkerMessage =
  | { id: number; kind: 'progress'; done: number; total: number; note: string }
  | { id: number; kind: 'done'; result: StudioResult }
  | { id: number; kind: 'error'; name: string; message: string };
