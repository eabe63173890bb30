/**
 * `simplify`: one call that turns an exporter's model into the plain graph a runtime or a
 * transformation wants — what onnxsim does in Python, with onnxruntime's basic and extended
 * fusions that stay in the ONNX domain.
 */
import type { Model } from '../ir/model.js';
import type { Value } from '../ir/value.js';
import { encodedSize } from '../onnx/encode.js';
import { inferShapes } from '../shape/infer.js';
import { modelStats } from '../stats.js';
import { foldBatchNorms } from './batchnorm-folding.js';
import { foldConstants, type ConstantFoldingOptions } from './constant-folding.js';
import { eliminateDeadCode } from './dead-code.js';
import { dedupeInitializers } from './dedupe-initializers.js';
import { fixInputShapes } from './fix-dims.js';
import {
  activationFusion,
  convAffineFusion,
  normalizationFusion,
  transposeCancellation,
  type RewriteCounts,
} from './fusion/index.js';
import { eliminateIdentities } from './identity.js';
import { liftConstants } from './lift-constants.js';
import { convertOpset } from './opset/convert.js';
import { PassManager, type Pass } from './pass.js';

/** Options of {@link simplify}. */
export interface SimplifyOptions {
  /**
   * Concrete shapes for inputs with dynamic dimensions, e.g. `{ x: [1, 3, 640, 640] }`: the
   * shape arithmetic that depends on them folds away. Without them dynamic dimensions stay.
   */
  shapes?: Record<string, readonly number[]>;
  /** Fuse exporter idioms (activations, normalizations, Conv affine, transposes); default true. */
  fuse?: boolean;
  /** Bounds of constant folding (see {@link ConstantFoldingOptions}). */
  constantFolding?: ConstantFoldingOptions;
  /** Most rounds of the pass list before stopping short of a fixed point (default 10). */
  maxIterations?: number;
  /**
   * Keep the intermediate shapes inferred on the way as value_info (default false: only what
   * the input declared stays, so the file does not grow by annotations nobody asked for).
   */
  keepInferredShapes?: boolean;
  /**
   * Convert the model to this default-domain opset first (up or down, see `convertOpset`):
   * fusions can only write ops the opset has (HardSwish 14, LayerNormalization 17, Gelu 20).
   */
  opset?: number;
}

/** The figures a simplification is judged by. */
export interface SimplifyFigures {
  /** Nodes of the main graph. */
  nodes: number;
  /** Weight elements (initializers and Constant nodes). */
  parameters: number;
  /** Bytes of the encoded .onnx file. */
  sizeBytes: number;
}

/** What {@link simplify} did. */
export interface SimplifyReport {
  before: SimplifyFigures;
  /** After constant lifting alone: the nodes lifting removed are not fusion's. */
  afterLifting: SimplifyFigures;
  after: SimplifyFigures;
  /** Rewrites made, by name (`constant-lifting`, `hard-swish`, `transpose-merge`, …); only those made. */
  rewrites: Record<string, number>;
  /** Rounds of the pass list run (the last changed nothing unless `maxIterations` stopped it). */
  rounds: number;
}

export interface SimplifyResult {
  /** The simplified model: a new Model, the input is left as it was. */
  model: Model;
  report: SimplifyReport;
}

/** Node outputs that carry a type, in every graph. */
function typedValues(model: Model): Set<Value> {
  const typed = new Set<Value>();
  for (const g of model.graphs()) for (const n of g) for (const o of n.outputs) if (o.type) typed.add(o);
  return typed;
}

/** Forget types inferred for intermediate values that were not declared before. */
function dropInferredTypes(model: Model, declared: Set<Value>): void {
  for (const g of model.graphs()) {
    const outputs = new Set(g.outputs);
    for (const n of g) for (const o of n.outputs) if (!declared.has(o) && !outputs.has(o)) o.type = undefined;
  }
}

function figures(model: Model): SimplifyFigures {
  return { nodes: model.graph.size, parameters: modelStats(model).parameters, sizeBytes: encodedSize(model) };
}

/** A pass from a graph function returning how many changes it made, counted under `name`. */
function counted(name: string, counts: RewriteCounts, run: (model: Model) => number): Pass {
  return {
    name,
    inPlace: true,
    run(model) {
      const n = run(model);
      if (n) counts.set(name, (counts.get(name) ?? 0) + n);
      return { model, modified: n > 0 };
    },
  };
}

/** Shape inference that never counts as a change: fusions read ranks and dims, they are not a simplification. */
const annotateShapes: Pass = {
  name: 'shape-inference',
  inPlace: true,
  run: (model) => {
    inferShapes(model, { strict: false });
    return { model, modified: false };
  },
};

function passList(options: SimplifyOptions, counts: RewriteCounts): Pass[] {
  const fold = (m: Model) => foldConstants(m.graph, m.opset() ?? 1, options.constantFolding);
  const fusions =
    options.fuse === false
      ? []
      : [
          activationFusion(counts),
          normalizationFusion(counts),
          convAffineFusion(counts),
          transposeCancellation(counts),
        ];
  return [
    annotateShapes,
    counted('constant-folding', counts, fold),
    counted('identity-elimination', counts, (m) => eliminateIdentities(m.graph)),
    ...fusions,
    counted('batchnorm-folding', counts, (m) => foldBatchNorms(m.graph)),
    counted('initializer-deduplication', counts, (m) => dedupeInitializers(m.graph).merged),
    counted('dead-code-elimination', counts, (m) => eliminateDeadCode(m.graph)),
  ];
}

/**
 * Simplify a copy of `model`: Constant nodes become initializers, `shapes` fix dynamic input
 * dimensions, then constant folding (shape arithmetic included, bounded so the model never
 * grows), identity removal, fusion of exporter idioms (hard-swish, GELU, LayerNormalization,
 * Softmax, per-channel affine into Conv, BatchNormalization into Conv), transpose
 * cancellation, initializer deduplication and dead-code elimination run to a fixed point.
 * Graph input and output names and types are kept; fusions emit only ops the model's opset has.
 *
 * @example
 * ```ts
 * const { model: simple, report } = await simplify(model, { shapes: { x: [1, 3, 640, 640] } });
 * console.log(report.before.nodes, '→', report.after.nodes, report.rewrites); // e.g. 672 → 170 { 'constant-lifting': 342, 'hard-swish': 24, … }
 * ```
 */
export async function simplify(model: Model, options: SimplifyOptions = {}): Promise<SimplifyResult> {
  const before = figures(model);
  const counts: RewriteCounts = new Map();
  let work: Model;
  if (options.opset !== undefined && options.opset !== model.opset('')) {
    const converted = convertOpset(model, options.opset);
    work = converted.model;
    counts.set('opset-conversion', new Set(converted.converted.map((c) => c.op)).size);
  } else work = model.clone();
  const lifted = liftConstants(work.graph);
  if (lifted) counts.set('constant-lifting', lifted);
  const afterLifting = lifted ? figures(work) : before;
  if (options.shapes) fixInputShapes(work, options.shapes);
  const declared = typedValues(work);
  const manager = new PassManager(passList(options, counts), {
    fixedPoint: true,
    maxIterations: options.maxIterations ?? 10,
  });
  const { log } = await manager.run(work);
  const rounds = log.length ? log[log.length - 1].round + 1 : 0;
  if (!options.keepInferredShapes) dropInferredTypes(work, declared);
  return {
    model: work,
    report: { before, afterLifting, after: figures(work), rewrites: Object.fromEntries(counts), rounds },
  };
}
