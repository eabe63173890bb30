/**
 * Why full-integer int8 stops at If, Loop and Scan. Static calibration observes the main graph's
 * activations only (a value inside a branch cannot be exposed as a model output), so a QDQ model
 * has no ranges for what a branch computes, and the export writes no int8 IF/WHILE branches: a
 * model whose main graph still holds control flow after `specialize` and simplification is
 * refused up front, naming the node and what to do, instead of failing later on whichever
 * unquantized tensor the lowering meets first. With `floatFallback` the export skips this check:
 * the node (its subgraphs included) runs in float between DEQUANTIZE and QUANTIZE.
 */
import {
  UnsupportedOpError,
  isDefaultDomain,
  prepare,
  type Dim,
  type Graph,
  type Model,
  type Node,
  type Tensor,
} from '@edgeml/core';
import { simplifyForExport } from './simplify-for-export.js';

const CONTROL_FLOW = new Set(['If', 'Loop', 'Scan']);

/** Inputs with at most this many elements are settings (a sample rate, a flag), worth fixing; larger ones are data. */
const SETTING_ELEMENTS = 16;

/** The node's inputs that decide which branch runs or how often: If's condition, Loop's trip count and condition. */
function controlInputs(node: Node) {
  if (node.opType === 'If') return node.inputs.slice(0, 1);
  if (node.opType === 'Loop') return node.inputs.slice(0, 2);
  return [];
}

/** The graph inputs (not initializers) that `node`'s control inputs are computed from. */
function decidingInputs(graph: Graph, node: Node) {
  const found = new Set<string>();
  const seen = new Set<Node>();
  const stack = controlInputs(node).filter((v) => v !== undefined);
  while (stack.length) {
    const value = stack.pop()!;
    if (value.isGraphInput && !graph.initializers.has(value.name)) found.add(value.name);
    const producer = value.producer();
    if (!producer || seen.has(producer)) continue;
    seen.add(producer);
    for (const v of producer.inputs) if (v) stack.push(v);
  }
  return graph.inputs.filter((v) => found.has(v.name));
}

const elements = (dims: readonly Dim[] | undefined) =>
  dims?.every((d) => typeof d === 'number') ? (dims as number[]).reduce((a, b) => a * b, 1) : Infinity;

const quoted = (names: string[]) => names.map((n) => `'${n}'`).join(', ');

/** What to do about `node`: fix the settings its condition reads, or keep the weights-only precisions. */
function advice(graph: Graph, node: Node): string {
  const keep =
    "export it with floatFallback (`edgeml export --float-fallback`: the node and its subgraphs run in float between DEQUANTIZE and QUANTIZE, the rest in int8), quantize 'dynamic' (int8 weights, branches included, float activations) or 'none'/'fp16'";
  const deciding = decidingInputs(graph, node).map((v) => ({
    name: v.name,
    setting: elements(v.shape) <= SETTING_ELEMENTS,
  }));
  if (!deciding.length || deciding.some((v) => !v.setting)) {
    const data = deciding.length ? ` (it depends on the data: ${quoted(deciding.map((v) => v.name))})` : '';
    return `The export cannot fold it away${data}: ${keep}`;
  }
  const names = deciding.map((v) => v.name);
  const fix = names.map((n) => `--fix ${n}=<value>`).join(' ');
  const what = node.opType === 'If' ? 'condition' : 'iteration count';
  return `Its ${what} reads ${quoted(names)}: fix ${names.length > 1 ? 'them' : 'it'} (\`edgeml export ${fix}\`, or exportTflite's \`specialize\`) so the ${node.opType} folds away, or ${keep}`;
}

/**
 * The refusal for the first If, Loop or Scan of `model`'s main graph (already specialized and
 * simplified), or undefined when it has none. Nodes inside branches need no check: they only run
 * through one of these.
 */
function controlFlowRefusal(model: Model): UnsupportedOpError | undefined {
  const graph = model.graph;
  const node = graph.nodes.find((n) => isDefaultDomain(n.domain) && CONTROL_FLOW.has(n.opType));
  if (!node) return undefined;
  const name = node.name || node.outputs[0]?.name;
  return new UnsupportedOpError(
    node.opType,
    node.domain,
    model.opset(''),
    `node '${name}' (${node.opType}) runs subgraphs, and full-integer int8 covers the main graph only: calibration cannot observe the activations inside a branch or loop body, and TFLite's int8 kernels need a scale for each. ${advice(graph, node)}`,
    name,
  );
}

/**
 * Throws an UnsupportedOpError naming the first If, Loop or Scan left, and what to do, when
 * `model`, with `specialize` inputs fixed and simplified at `shapes` as {@link exportTflite}
 * would, still holds control flow in its main graph (exportTflite with quantize 'int8' runs
 * this check itself). For callers that calibrate before exporting (`edgeml export --quantize int8`), so that
 * such a model is refused before calibration rather than by the quantizer's or the lowering's
 * less specific errors.
 *
 * @example
 * ```ts
 * await checkFullIntegerControlFlow(sileroVad, { shapes: { input: [1, 512] } });
 * // UnsupportedOpError: node 'If_0' (If) runs subgraphs, … fix it (`edgeml export --fix sr=<value>` …)
 * ```
 */
export async function checkFullIntegerControlFlow(
  model: Model,
  options: { shapes?: Record<string, readonly number[]>; specialize?: Record<string, Tensor> } = {},
): Promise<void> {
  const specialized = options.specialize ? prepare(model, { specialize: options.specialize }).model : model;
  // A QDQ model's Q/DQ pairs are simplified too: harmless, this copy only answers the question.
  if (!specialized.graph.nodes.some((n) => CONTROL_FLOW.has(n.opType))) return;
  const { model: simple } = await simplifyForExport(specialized, options);
  const refusal = controlFlowRefusal(simple);
  if (refusal) throw refusal;
}
