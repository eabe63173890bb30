/**
 * The pruning methods as schemes: each checks its options and lists the passes that carry it
 * out. `prune()` runs the scheme named by `options.method`; `edgeml prune --method` lists,
 * checks and documents its methods from this registry. Register your own with
 * `pruningSchemes.register(...)`.
 */
import {
  PassManager,
  SchemeRegistry,
  prepare,
  type Model,
  type Pass,
  type PreparedStep,
  type Scheme,
  type Tensor,
} from '@edgeml/core';
import { pruneChannels, validateChannelOptions, type ChannelPruneOptions, type GroupReport } from './channel.js';
import {
  pruneMagnitude,
  pruneNM,
  validateMagnitudeOptions,
  validateNMOptions,
  type LayerSparsity,
  type MagnitudeOptions,
  type NMOptions,
  type SparsityResult,
} from './unstructured.js';

/** What a pruning scheme's passes did, filled in as they run. */
export interface PruneRecord {
  /** Structured methods: channels before and after, per channel group. */
  groups?: GroupReport[];
  /** Structured methods: groups left alone, with why. */
  skipped?: { name: string; reason: string }[];
  /** Unstructured methods: zeros per weight, and overall. */
  layers?: LayerSparsity[];
  sparsity?: SparsityResult['sparsity'];
}

/** A pruning method: its options type and the record its passes fill. */
export type PruningScheme<O = Record<string, unknown>> = Scheme<O, PruneRecord>;

/** A pass that prunes a copy (the pruners never edit their input) and hands it on. */
function pruningPass(name: string, prune: (model: Model) => Promise<Model> | Model): Pass {
  return { name, inPlace: false, run: async (model) => ({ model: await prune(model), modified: true }) };
}

const channelScheme: PruningScheme<ChannelPruneOptions> = {
  name: 'channel',
  summary: 'remove whole channels (Conv filters, Gemm rows) with every tensor that depends on them: smaller and faster',
  validate: validateChannelOptions,
  passes: (options, record) => [
    pruningPass('prune-channels', async (model) => {
      const r = await pruneChannels(model, options);
      record.groups = r.groups;
      record.skipped = r.skipped;
      return r.model;
    }),
  ],
};

const unstructured = (record: PruneRecord, r: SparsityResult): Model => {
  record.layers = r.layers;
  record.sparsity = r.sparsity;
  return r.model;
};

const magnitudeScheme: PruningScheme<MagnitudeOptions> = {
  name: 'magnitude',
  summary: 'zero the smallest weights (per layer or one global threshold): compresses, not faster on dense runtimes',
  validate: validateMagnitudeOptions,
  passes: (options, record) => [
    pruningPass('prune-magnitude', (model) => unstructured(record, pruneMagnitude(model, options))),
  ],
};

const nmScheme: PruningScheme<NMOptions> = {
  name: 'nm',
  summary: 'N:M sparsity (2:4 by default, what sparse tensor cores accelerate)',
  validate: validateNMOptions,
  passes: (options, record) => [pruningPass('prune-nm', (model) => unstructured(record, pruneNM(model, options)))],
};

/**
 * Every pruning method `prune()` and `edgeml prune --method` know, in the order help lists them.
 *
 * @example
 * ```ts
 * pruningSchemes.names(); // ['channel', 'magnitude', 'nm']
 * ```
 */
export const pruningSchemes = new SchemeRegistry<PruningScheme<never>>('pruning method', 'method');
for (const s of [channelScheme, magnitudeScheme, nmScheme]) pruningSchemes.register(s);

/** Options every method takes. */
export interface PruneCommonOptions {
  /**
   * Inputs fixed to a value first (see `prepare`'s `specialize`), so that a network kept inside
   * an If on such an input becomes a plain graph; the input is gone from the result.
   */
  specialize?: Record<string, Tensor>;
}

/** Options of {@link prune}: the method and what it takes. */
export type PruneOptions = PruneCommonOptions &
  (
    | ({ method: 'channel' } & ChannelPruneOptions)
    | ({ method: 'magnitude' } & MagnitudeOptions)
    | ({ method: 'nm' } & NMOptions)
    /** A method registered with `pruningSchemes`, with the options it takes. */
    | ({ method: string } & Record<string, unknown>)
  );

/** The pruned model, and what the method did. */
export interface PruneResult extends PruneRecord {
  model: Model;
  method: string;
  /** What was done to the input before pruning (Constant-node weights lifted, fp16 weights widened...). */
  prepared: PreparedStep[];
}

/**
 * Prune `model` with the method named in `options` (a scheme of `pruningSchemes`); the input
 * model is not modified.
 *
 * @example
 * ```ts
 * const { model: slim, groups } = await prune(model, { method: 'channel', ratio: 0.5, roundTo: 8 });
 * const { model: sparse, sparsity } = await prune(model, { method: 'nm', n: 2, m: 4 });
 * ```
 */
export async function prune(model: Model, options: PruneOptions): Promise<PruneResult> {
  const scheme = pruningSchemes.get(options.method);
  scheme.validate(options as never);
  const record: PruneRecord = {};
  // Weights stored as Constant nodes or as float16 behind a Cast are prunable weights too.
  // Channels are followed through a LayerNormalization, not through its decomposed form.
  const { model: ready, prepared } = prepare(model, {
    foldWeightCasts: true,
    fuseNormalizations: options.method === 'channel',
    specialize: options.specialize,
  });
  const { model: pruned } = await new PassManager(scheme.passes(options as never, record)).run(ready);
  return { ...record, model: pruned, method: options.method, prepared };
}
