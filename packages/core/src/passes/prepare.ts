import { isDefaultDomain } from '../ops/op-schema.js';
import type { Graph } from '../ir/graph.js';
import type { Model } from '../ir/model.js';
import { Tensor } from '../tensor/tensor.js';
import { dtypeFromOnnx } from '../tensor/dtype.js';
import { liftConstants, replaceByInitializer } from './lift-constants.js';
import { convertOpset } from './opset/convert.js';
import { OpsetConversionError } from '../errors.js';
import { eliminateDeadCode } from './dead-code.js';
import { inferShapes } from '../shape/infer.js';
import { freezeInputs } from './fix-dims.js';
import { foldConstants } from './constant-folding.js';
import { applyRewrites, type Rewrite, type RewriteCounts } from './fusion/rewrite.js';
import { NORMALIZATION_REWRITES } from './fusion/normalization.js';
import { ACTIVATION_REWRITES } from './fusion/activations.js';
import { CONV_REWRITES } from './fusion/conv-affine.js';

/** What an operation needs of the model it is given (see {@link prepare}). */
export interface PrepareNeeds {
  /** Turn `Constant` nodes into initializers, in subgraphs too (default true). */
  liftConstants?: boolean;
  /**
   * Replace `Cast` nodes that widen a float16/bfloat16 initializer to float32 by the float32
   * initializer, so weights a model stores in half precision are seen as weights (default false:
   * it grows the model; quantization and pruning ask for it).
   */
  foldWeightCasts?: boolean;
  /**
   * The lowest default-domain opset the operation needs (e.g. 11 for DynamicQuantizeLinear, 13
   * for per-channel QDQ, 21 for int4 QDQ): an older model is converted op by op, and an op that
   * cannot be converted exactly throws `OpsetConversionError`.
   */
  minOpset?: number;
  /**
   * Fuse normalizations exported op by op (ReduceMean/Sub/Pow/Sqrt/Div → LayerNormalization,
   * exp/Σexp → Softmax), raising the opset to 17 when that makes LayerNormalization available
   * (default false; channel pruning asks for it, to follow features through a LayerNorm).
   */
  fuseNormalizations?: boolean;
  /**
   * Fuse activations exported op by op (hard-sigmoid, hard-swish, GELU...) and Mul/Add after a
   * Conv into single ops, raising the opset to 14 when that makes HardSwish available (default
   * false; static quantization asks for it: every op left decomposed is a Q/DQ pair more).
   */
  fuseActivations?: boolean;
  /**
   * Inputs fixed to a value (e.g. `{ sr: 16000 as int64 }`): they become constants and constant
   * folding resolves what depended on them, inlining the branch an If takes. Models that keep
   * their network inside an If on such an input (Silero VAD) become plain graphs that every
   * transformation reaches; the input is gone from the result.
   */
  specialize?: Record<string, Tensor>;
}

/** One thing {@link prepare} did, for reports (`prepared: [...]` in the CLI's JSON). */
export interface PreparedStep {
  step:
    | 'specialize'
    | 'lift-constants'
    | 'fold-weight-casts'
    | 'convert-opset'
    | 'fuse-normalizations'
    | 'fuse-activations';
  /** Nodes rewritten. */
  count: number;
  /** One line for people, e.g. "342 Constant nodes became initializers". */
  detail: string;
}

export interface PrepareResult {
  /** The prepared model: `model` itself when nothing needed doing, otherwise a clone. */
  model: Model;
  prepared: PreparedStep[];
}

const WIDENED = new Set(['float16', 'bfloat16']);

/** Cast(initializer: float16|bfloat16 → float32) nodes in `graph` and its subgraphs. */
function foldWeightCasts(graph: Graph): number {
  let folded = 0;
  for (const node of [...graph]) {
    for (const sub of node.subgraphs()) folded += foldWeightCasts(sub);
    if (node.opType !== 'Cast' || !isDefaultDomain(node)) continue;
    const source = node.inputs[0];
    const out = node.outputs[0];
    const weight = source?.const;
    if (!weight || !WIDENED.has(weight.dtype) || graph.inputs.includes(source) || graph.outputs.includes(out)) continue;
    if (dtypeFromOnnx(node.attr('to', 'int', 0)) !== 'float32') continue;
    replaceByInitializer(node, Tensor.from('float32', weight.dims, Float32Array.from(weight.toFloat64())));
    folded++;
  }
  return folded;
}

/** The default-domain op types of every graph, in one walk. */
function opTypesOf(model: Model): Set<string> {
  const ops = new Set<string>();
  for (const g of model.graphs()) for (const n of g) if (isDefaultDomain(n)) ops.add(n.opType);
  return ops;
}

/**
 * Prepare a model as an operation needs it: an older opset is converted to the one it needs,
 * weights that exporters store as `Constant` nodes (paddle2onnx, spox, some PyTorch exports)
 * become initializers, and, when asked, half-precision weights behind a `Cast` become float32
 * initializers. The input is never modified: a clone is
 * prepared when anything needs doing, and `prepared` says what was done.
 *
 * @example
 * ```ts
 * const { model: ready, prepared } = prepare(model, { foldWeightCasts: true });
 * for (const p of prepared) console.log(p.detail);
 * ```
 */
export function prepare(model: Model, needs: PrepareNeeds = {}): PrepareResult {
  const ops = opTypesOf(model);
  const lift = (needs.liftConstants ?? true) && ops.has('Constant');
  const casts = !!needs.foldWeightCasts && ops.has('Cast');
  const opset = model.opset('') ?? 0;
  const raise = needs.minOpset !== undefined && opset < needs.minOpset;
  const fuse = !!needs.fuseNormalizations && ops.has('ReduceMean');
  const fixed = Object.keys(needs.specialize ?? {});
  const activations = !!needs.fuseActivations;
  if (!lift && !casts && !raise && !fuse && !fixed.length && !activations) return { model, prepared: [] };
  const prepared: PreparedStep[] = [];
  let work = model.clone();
  if (fixed.length) prepared.push(specializeInputs(work, needs.specialize!));
  if (raise) {
    const converted = convertStep(work, needs.minOpset!);
    work = converted.model;
    prepared.push(converted.step);
  }
  if (lift) {
    const count = liftConstants(work.graph);
    if (count) prepared.push({ step: 'lift-constants', count, detail: `${count} Constant nodes became initializers` });
  }
  if (casts) {
    const count = foldWeightCasts(work.graph);
    if (count)
      prepared.push({
        step: 'fold-weight-casts',
        count,
        detail: `${count} half-precision weights behind a Cast became float32 initializers`,
      });
  }
  if (fuse) work = fuseFamily(work, NORMALIZATIONS, prepared);
  if (activations) work = fuseFamily(work, ACTIVATIONS, prepared);
  return prepared.length ? { model: work, prepared } : { model, prepared };
}

/** Fix inputs to constants and fold what follows (If branches inlined), in place. */
function specializeInputs(model: Model, values: Record<string, Tensor>): PreparedStep {
  const before = model.graph.size;
  freezeInputs(model, values);
  // A condition computed from a fixed input folds first; the If it feeds is inlined next round.
  while (foldConstants(model.graph, model.opset() ?? 1) > 0);
  eliminateDeadCode(model.graph);
  const list = Object.entries(values).map(
    ([k, t]) => `${k} = ${t.size === 1 ? String(t.toFloat64()[0]) : `[${t.dims}]`}`,
  );
  return {
    step: 'specialize',
    count: Object.keys(values).length,
    detail: `inputs fixed (${list.join(', ')}) and what depended on them folded (If branches inlined): ${before} -> ${model.graph.size} nodes in the main graph`,
  };
}

/** `model` converted to opset `target`, and the step that says so. */
function convertStep(model: Model, target: number): { model: Model; step: PreparedStep } {
  const converted = convertOpset(model, target);
  const ops = new Set(converted.converted.map((c) => c.op));
  // Steps are per version (Clip 6→11, 11→12, ...): a node counts once, at its busiest step.
  const count = [...ops].reduce(
    (n, op) => n + Math.max(...converted.converted.filter((c) => c.op === op).map((c) => c.count)),
    0,
  );
  const detail = `opset ${converted.from} converted to ${target}${ops.size ? ` (ops at new versions: ${[...ops].join(', ')})` : ''}`;
  return { model: converted.model, step: { step: 'convert-opset', count, detail } };
}

/** A family of exporter-idiom fusions, and the opset its ops first exist at. */
interface FusionFamily {
  step: 'fuse-normalizations' | 'fuse-activations';
  rewrites: readonly Rewrite[];
  /** LayerNormalization is opset 17, HardSwish 14. */
  opset: number;
  what: string;
}

const NORMALIZATIONS: FusionFamily = {
  step: 'fuse-normalizations',
  rewrites: NORMALIZATION_REWRITES,
  opset: 17,
  what: 'decomposed normalizations fused',
};
// Exporters' Mul/Add after a Conv is a BatchNorm folded by hand: into the Conv, as simplify does.
const ACTIVATIONS: FusionFamily = {
  step: 'fuse-activations',
  rewrites: [...ACTIVATION_REWRITES, ...CONV_REWRITES],
  opset: 14,
  what: 'decomposed activations and Conv affines fused',
};

/**
 * Exporter idioms fused into single ops. An older model is tried at the family's opset, and
 * kept so only when something fused there; conversion that cannot be exact leaves it as it is.
 */
function fuseFamily(model: Model, family: FusionFamily, prepared: PreparedStep[]): Model {
  let trial = model;
  let raised: PreparedStep | undefined;
  if ((model.opset('') ?? 0) < family.opset) {
    try {
      ({ model: trial, step: raised } = convertStep(model, family.opset));
    } catch (e) {
      if (e instanceof OpsetConversionError) return model; // fusing is an extra: the model stays as it is
      throw e;
    }
  }
  const counts: RewriteCounts = new Map();
  // The fusions check axes and broadcasts against shapes.
  if (trial === model) trial = model.clone();
  inferShapes(trial, { strict: false });
  const fused = applyRewrites(trial, family.rewrites, counts);
  if (!fused) return model;
  eliminateDeadCode(trial.graph);
  if (raised) prepared.push(raised);
  const what = [...counts].map(([name, n]) => `${n} ${name}`).join(', ');
  prepared.push({ step: family.step, count: fused, detail: `${family.what} (${what})` });
  return trial;
}
