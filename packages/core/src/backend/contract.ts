import type { Model } from '../ir/model.js';
import type { Tensor } from '../tensor/tensor.js';
import type { ValueType } from '../ir/types.js';

/** A session input or output as the runtime reports it. */
export interface ValueInfo {
  name: string;
  type: ValueType | undefined;
}

/** Options every backend understands; backends ignore what they cannot honour and say so in their docs. */
export interface SessionOptions {
  /** Threads inside one operator (0 or undefined: the runtime's default). */
  intraOpThreads?: number;
  /** Threads across operators. */
  interOpThreads?: number;
  /** Graph optimization level applied by the runtime. */
  graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /**
   * Execution providers in order of preference; unavailable ones are skipped and the backend's
   * default provider is the last resort. Backends without providers ignore this.
   */
  executionProviders?: string[];
  /** Collect a profile; `Session.endProfiling()` returns the profile file. */
  profiling?: boolean | { filePrefix?: string };
  /** Runtime-specific extras, passed through untouched. */
  extra?: Record<string, unknown>;
}

export interface RunOptions {
  /** Outputs to fetch (default: all). */
  outputs?: string[];
  /** Tag shown in runtime logs and profiles. */
  tag?: string;
}

/** A loaded model ready to run. */
export interface Session {
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  /** Execution providers actually in use, best first. */
  readonly executionProviders?: readonly string[];
  /** Providers asked for but passed over (not on this platform, or failed to load the model), with why. */
  readonly skippedExecutionProviders?: readonly { name: string; reason: string }[];
  run(feeds: Record<string, Tensor>, options?: RunOptions): Promise<Record<string, Tensor>>;
  /** Stop profiling and return the profile file path (or undefined when profiling was off). */
  endProfiling?(): Promise<string | undefined>;
  dispose(): Promise<void>;
}

/** What a runtime's integer kernels do on this machine, where it changes how to quantize for it. */
export interface IntegerKernelTraits {
  /**
   * True when u8×s8 products are summed in pairs into 16 bits before they are widened
   * (onnxruntime's x86-64 kernels on AVX2 or AVX-512 without VNNI use `vpmaddubsw`, which
   * saturates): two products of a full-range uint8 activation and int8 weight (255·127·2) then
   * overflow and the output is wrong. Quantizers keep weights to 7 bits there (`reduceRange`).
   */
  pairSumsSaturate: boolean;
  /** What was detected, for reports (e.g. "x86-64 AVX2 without VNNI"). */
  detail: string;
}

/**
 * A runtime that can execute models. Each runtime package implements it; transformations that
 * must run a model take a Backend argument rather than importing a runtime, and one conformance
 * suite checks every implementation.
 */
export interface Backend {
  readonly name: string;
  /** Version of the underlying runtime (not of EdgeML), for reports. */
  readonly version?: string;
  /** How its integer kernels behave on this machine, when the backend knows (quantizers adapt to it). */
  readonly integerKernels?: IntegerKernelTraits;
  init(): Promise<void>;
  createSession(model: Model | Uint8Array | string, options?: SessionOptions): Promise<Session>;
}
