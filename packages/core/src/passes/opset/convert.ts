/**
 * The opset converter: walks a copy of the model one opset at a time (as onnx's version
 * converter does), and at each step hands every default-domain node whose op changed there to
 * that version's adapter, in the main graph, every If/Loop/Scan body and model-local functions.
 */
import { InvalidArgumentError, OpsetConversionError } from '../../errors.js';
import type { Graph } from '../../ir/graph.js';
import type { Model } from '../../ir/model.js';
import type { Node } from '../../ir/node.js';
import type { TensorType } from '../../ir/types.js';
import { isOpName } from '../../ops/op-names.js';
import { isDefaultDomain } from '../../ops/op-schema.js';
import { inferShapes } from '../../shape/infer.js';
import type { Pass } from '../pass.js';
import { ADAPTERS } from './adapters.js';
import { AdapterContext, type TypeFacts } from './context.js';
import { MAX_CONVERTIBLE_OPSET, MIN_CONVERTIBLE_OPSET, OP_VERSIONS, versionAt } from './versions.js';

/** How {@link convertOpset} works. */
export interface ConvertOpsetOptions {
  /**
   * Infer types and shapes on a copy of the input first, for adapters that need an element type
   * or a rank the model does not declare (default true; the result never carries the inferred types).
   */
  inferTypes?: boolean;
}

/** Nodes of one op that crossed one version change: `from` and `to` are the op's versions before and after. */
export interface OpsetConversionStep {
  op: string;
  from: number;
  to: number;
  count: number;
}

/** What {@link convertOpset} returns. */
export interface ConvertOpsetResult {
  /** The converted copy (the input model is never modified). */
  model: Model;
  /** Default-domain opset of the input and of the result. */
  from: number;
  to: number;
  /** Every version change applied, in the order met. */
  converted: OpsetConversionStep[];
}

/** The IR version each opset first appeared with; a converted model gets at least this one. */
const IR_FOR_OPSET: Record<number, number> = {
  7: 3,
  8: 3,
  9: 4,
  10: 5,
  11: 6,
  12: 7,
  13: 7,
  14: 7,
  15: 8,
  16: 8,
  17: 8,
  18: 8,
  19: 9,
  20: 9,
  21: 10,
};

type Log = Map<string, OpsetConversionStep>;

/**
 * Convert a model to another default-domain ONNX opset (7 to 21, up or down), exactly: every
 * node is rewritten into the form its op has at the target (attributes that became inputs,
 * renamed ops, changed defaults and semantics spelled out with extra nodes), and the model's
 * opset import, its IR version (raised to the target's minimum) and model-local functions
 * follow. Nodes of other domains are left as they are. Where the target cannot express a
 * node exactly — an op it lacks, a mode with no equivalent, an input computed at run time that
 * the target takes as an attribute — it throws {@link OpsetConversionError} naming the node, the
 * op and the opsets of the step. Returns a new model; the input is never modified.
 *
 * @example
 * ```ts
 * const { model: m13, converted } = convertOpset(model, 13);
 * // converted: [{ op: 'Clip', from: 6, to: 11, count: 4 }, { op: 'Squeeze', from: 11, to: 13, count: 1 }, ...]
 * m13.opset(); // 13
 * ```
 */
export function convertOpset(model: Model, target: number, options: ConvertOpsetOptions = {}): ConvertOpsetResult {
  if (!Number.isInteger(target) || target < MIN_CONVERTIBLE_OPSET || target > MAX_CONVERTIBLE_OPSET)
    throw new InvalidArgumentError(
      `target opset ${target} is outside what the converter handles (${MIN_CONVERTIBLE_OPSET} to ${MAX_CONVERTIBLE_OPSET})`,
      'target',
    );
  const work = model.clone();
  const from = model.opset('');
  const result: ConvertOpsetResult = { model: work, from: from ?? target, to: target, converted: [] };
  if (from === undefined || from === target) {
    setDefaultOpset(work.opsetImports, target);
    return result;
  }
  checkSource(from, target, 'the model');
  const log: Log = new Map();
  const facts = options.inferTypes === false ? new Map<string, TensorType>() : collectFacts(model);
  convertGraph(work.graph, from, target, facts, log);
  for (const f of work.functions) {
    const version = f.opsetImports.get('') ?? f.opsetImports.get('ai.onnx');
    if (version === undefined || version === target) continue;
    checkSource(version, target, `function '${f.name}'`);
    convertGraph(f.graph, version, target, new Map(), log);
    setDefaultOpset(f.opsetImports, target);
  }
  setDefaultOpset(work.opsetImports, target);
  work.irVersion = Math.max(work.irVersion, IR_FOR_OPSET[target]);
  result.converted = [...log.values()];
  return result;
}

/**
 * The model itself when its default-domain opset is already `minimum` or higher, else a copy
 * converted to `minimum` (see {@link convertOpset}): what a transformation that needs a newer
 * opset (per-channel quantization needs 13) calls first.
 *
 * @example
 * ```ts
 * const ready = ensureOpset(model, 13); // === model when it imports opset 13 or later
 * ```
 */
export function ensureOpset(model: Model, minimum: number): Model {
  const current = model.opset('');
  if (current !== undefined && current >= minimum) return model;
  return convertOpset(model, minimum).model;
}

/**
 * {@link convertOpset} as a pass (not in place: it returns the converted copy; unmodified when
 * the model already imports `target`).
 *
 * @example
 * ```ts
 * const { model: out } = await new PassManager([opsetConversion(17), constantFolding()]).run(model);
 * ```
 */
export function opsetConversion(target: number, options: ConvertOpsetOptions = {}): Pass {
  return {
    name: 'opset-conversion',
    inPlace: false,
    run(model) {
      if (model.opset('') === target) return { model, modified: false };
      return { model: convertOpset(model, target, options).model, modified: true };
    },
  };
}

function checkSource(from: number, to: number, what: string): void {
  if (from >= MIN_CONVERTIBLE_OPSET && from <= MAX_CONVERTIBLE_OPSET) return;
  throw new OpsetConversionError(
    { nodeName: '', opType: '', from, to },
    `${what} imports default-domain opset ${from}; the converter reads opsets ${MIN_CONVERTIBLE_OPSET} to ${MAX_CONVERTIBLE_OPSET} (convert it to ${MIN_CONVERTIBLE_OPSET} or later with onnx's version_converter first)`,
  );
}

function setDefaultOpset(imports: Map<string, number>, version: number): void {
  imports.set(imports.has('ai.onnx') && !imports.has('') ? 'ai.onnx' : '', version);
}

/** Types and shapes by value name: declared ones, and what shape inference finds on a copy. */
function collectFacts(model: Model): TypeFacts {
  const copy = model.clone();
  try {
    inferShapes(copy, { strict: false });
  } catch {
    // Inference is a help, not a requirement: adapters that need a missing fact refuse the node.
  }
  const facts = new Map<string, TensorType>();
  const note = (name: string, type: TensorType | undefined) => {
    if (name && type && !facts.has(name)) facts.set(name, type);
  };
  for (const g of copy.graphs()) {
    for (const v of g.inputs) note(v.name, v.type?.kind === 'tensor' ? v.type : undefined);
    for (const n of g) for (const o of n.outputs) note(o.name, o.type?.kind === 'tensor' ? o.type : undefined);
  }
  return facts;
}

/** Step a graph tree from opset `from` to `to`, one opset at a time. */
function convertGraph(graph: Graph, from: number, to: number, facts: TypeFacts, log: Log): void {
  const dir = to > from ? 1 : -1;
  for (let opset = from; opset !== to; opset += dir) stepGraph(graph, opset, opset + dir, facts, log);
}

function stepGraph(graph: Graph, current: number, next: number, facts: TypeFacts, log: Log): void {
  for (const node of graph.nodes) {
    if (node.graph !== graph) continue;
    for (const sub of node.subgraphs()) stepGraph(sub, current, next, facts, log);
    if (isDefaultDomain(node)) stepNode(node, current, next, facts, log);
  }
}

/** Cross one opset step for one node, when its op changed at that step. */
function stepNode(node: Node, current: number, next: number, facts: TypeFacts, log: Log): void {
  const ctx: AdapterContext = new AdapterContext(node, current, next, facts);
  const versions = isOpName(node.opType) ? OP_VERSIONS[node.opType] : undefined;
  if (!versions)
    ctx.fail(
      `'${node.opType}' is not an operator of the default ONNX domain through opset ${MAX_CONVERTIBLE_OPSET}`,
      'give it its own domain, or replace it with standard ops',
    );
  const up = next > current;
  // Going up, the form changes when `next` is one of the op's versions; going down, when `current` is.
  const changedAt = up ? next : current;
  if (!versions.includes(changedAt)) return;
  const before = versionAt(versions, current);
  if (before === undefined)
    ctx.fail(`'${node.opType}' does not exist at opset ${current}, which the model imports`, 'fix the model first');
  const adapter = ADAPTERS[node.opType as keyof typeof ADAPTERS]?.[changedAt];
  const after = versionAt(versions, next);
  if (!up && after === undefined && !adapter?.down)
    ctx.fail(
      `${node.opType} does not exist before opset ${changedAt}`,
      `keep opset ${changedAt} or later, or replace ${node.opType} with ops that exist at opset ${next}`,
    );
  if (!adapter && after !== undefined)
    ctx.fail(`no adapter for the change of ${node.opType} at version ${changedAt}`, 'report this as a bug');
  if (node.graph && [...node.attributes.values()].some((a) => a.refAttrName) && (up ? adapter?.up : adapter?.down))
    ctx.fail(
      'its attributes refer to the calling function\u2019s attributes, which an adapter cannot read',
      'inline the function first',
    );
  (up ? adapter?.up : adapter?.down)?.(ctx);
  const key = `${node.opType}:${before}:${after ?? next}`;
  const entry = log.get(key) ?? { op: node.opType, from: before, to: after ?? next, count: 0 };
  entry.count++;
  log.set(key, entry);
}
