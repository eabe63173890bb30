/**
 * Label-free sensitivity: how much of a static quantization's output error each layer causes,
 * measured on the calibration (or evaluation) samples alone. A layer is a block: a Conv,
 * ConvTranspose, MatMul or Gemm with the elementwise ops that follow it alone (bias Add, Relu,
 * Clip, Sigmoid, residual Add...), or a quantized op outside any such chain. Each candidate is
 * measured as its one-at-a-time ablation, as in AIMET's per-layer quantization analysis and
 * NNCF's accuracy-aware fallback: the output SQNR when only that block leaves int8 (back to
 * float, or to 16-bit activations), everything else quantized with the same calibrated ranges.
 * Measuring every block costs one run of the data per block, so only the `maxCandidates`
 * blocks the free estimate (the SQNR each block loses between its inputs and its output, from
 * the per-tensor errors) ranks highest are measured.
 */
import { InvalidArgumentError, nodeMacs, type Model, type Node, type Value } from '@edgeml/core';
import type { LayerPrecision, VariantContext } from './layer-variant.js';
import type { OutputError } from './quantize.js';
import type { NodeOutcome } from './select.js';

/** A layer as sensitivity and mixed precision see it: a weighted op and the elementwise ops it feeds alone. */
export interface LayerBlock {
  /** The first node's name (the Conv/MatMul/Gemm, when there is one): the layer's name in reports. */
  layer: string;
  opType: string;
  /** Every node of the block, in graph order. */
  nodes: string[];
  /** Float activations the block's nodes read or write (what int16 widens). */
  activations: string[];
  /** Multiply-accumulates of the block (0 for ops without weights), counted from shapes. */
  macs: number;
  /** Elements of the block's output tensor (what a float/int8 boundary converts once per run). */
  outputElements: number;
}

/** One measured candidate: the block, the precision it was given, and what that did to the outputs. */
export interface LayerSensitivity extends Pick<LayerBlock, 'layer' | 'opType' | 'nodes' | 'activations'> {
  precision: LayerPrecision;
  /** Free estimate the candidates were ranked by: dB of SQNR lost between the block's inputs and its output. */
  estimatedLossDb: number;
  /** Lowest output SQNR with only this block at `precision` (everything else int8). */
  outputSqnrDb: number;
  /** `outputSqnrDb` minus the all-int8 output SQNR. */
  gainDb: number;
  /**
   * Share of the all-int8 output noise power this block removes, 1 − 10^(−gain/10): noise from
   * independent layers adds in power, so shares add where dB do not.
   */
  noiseShare: number;
  /** Speed given up: MACs leaving integer kernels plus elements converted at float/int8 boundaries (counted from shapes). */
  speedCost: number;
  /** Bytes the model grows by (measured on the encoded variant; float weights are 4× their int8 size). */
  sizeCost: number;
}

/** How many blocks to measure and at which precisions. */
export interface SensitivityOptions {
  /** Blocks measured (the highest estimates first); default 24. Each costs one run over the samples. */
  maxCandidates?: number;
  /** Precisions each candidate is measured at; default `['float']` (see {@link LayerPrecision}). */
  precisions?: readonly LayerPrecision[];
}

const WEIGHTED = new Set(['Conv', 'ConvTranspose', 'MatMul', 'Gemm']);
/** Ops that continue a weighted op's block when they are its output's only reader. */
const FOLLOWERS = new Set(['Add', 'Mul', 'Relu', 'Clip', 'Sigmoid', 'LeakyRelu']);
const PRECISIONS: readonly string[] = ['float', 'int16'];

const isFloatActivation = (v: Value | undefined): v is Value =>
  !!v && !v.const && !!v.name && (v.dtype === undefined || v.dtype === 'float32');

/** Elements of a value whose shape is fully known (0 where a dimension is symbolic). */
export const elementsOf = (v: Value | undefined): number => {
  const shape = v?.shape;
  return shape?.every((d) => typeof d === 'number') ? shape.reduce((a, b) => a * b, 1) : 0;
};

/**
 * The layers of `model` (the prepared float model) among the nodes a quantization quantized,
 * in graph order. Unnamed nodes are left out: a variant names the nodes it keeps in float.
 *
 * @example
 * ```ts
 * layerBlocks(model, result.quantizedNodes); // [{ layer: 'conv1', nodes: ['conv1', 'relu1'], macs: 1204224, ... }, ...]
 * ```
 */
export function layerBlocks(model: Model, quantized: readonly NodeOutcome[]): LayerBlock[] {
  const graph = model.graph;
  const wasQuantized = new Set(quantized.map((q) => `${q.opType}/${q.name}`));
  const inScope = (n: Node) => !!n.name && wasQuantized.has(`${n.opType}/${n.name}`);
  const taken = new Set<Node>();
  const blocks: LayerBlock[] = [];
  const chainFrom = (head: Node): Node[] => {
    const chain = [head];
    for (;;) {
      const out = chain[chain.length - 1].outputs[0];
      const uses = out?.uses() ?? [];
      const next = uses.length === 1 ? uses[0].node : undefined;
      if (!next || graph.outputs.includes(out) || !FOLLOWERS.has(next.opType) || !inScope(next) || taken.has(next))
        return chain;
      chain.push(next);
    }
  };
  for (const head of graph) {
    if (!WEIGHTED.has(head.opType) || !inScope(head) || taken.has(head)) continue;
    const chain = chainFrom(head);
    chain.forEach((n) => taken.add(n));
    blocks.push(blockOf(chain));
  }
  for (const n of graph) if (inScope(n) && !taken.has(n)) blocks.push(blockOf([n]));
  const order = new Map(graph.nodes.map((n, i) => [n.name, i]));
  return blocks.sort((a, b) => order.get(a.layer)! - order.get(b.layer)!);
}

function blockOf(chain: Node[]): LayerBlock {
  const activations = new Set<string>();
  for (const n of chain) for (const v of [...n.inputs, ...n.outputs]) if (isFloatActivation(v)) activations.add(v.name);
  return {
    layer: chain[0].name,
    opType: chain[0].opType,
    nodes: chain.map((n) => n.name),
    activations: [...activations],
    macs: chain.reduce((sum, n) => sum + (nodeMacs(n) ?? 0), 0),
    outputElements: elementsOf(chain[chain.length - 1].outputs[0]),
  };
}

/**
 * The free estimate: SQNR lost across the block, from the per-tensor errors of the all-int8
 * model: the block's output SQNR against its inputs'. An input made by a float op (a
 * HardSwish, say) is quantized for this block alone, so the loss is counted from that op's own
 * inputs. Blocks with no measured output get -Infinity; model inputs count as 100 dB.
 */
export function estimatedLossDb(
  model: Model,
  block: LayerBlock,
  tensorErrors: readonly OutputError[],
  quantized: ReadonlySet<string>,
): number {
  const sqnr = new Map(tensorErrors.map((e) => [e.name, e.sqnrDb]));
  const first = model.graph.nodes.find((n) => n.name === block.nodes[0]);
  const last = model.graph.nodes.find((n) => n.name === block.nodes[block.nodes.length - 1]);
  const out = sqnr.get(last?.outputs[0]?.name ?? '');
  if (!first || out === undefined) return -Infinity;
  const known = (values: readonly (Value | undefined)[]) =>
    values.map((v) => (v ? sqnr.get(v.name) : undefined)).filter((x): x is number => x !== undefined);
  const sourceSqnr = (v: Value | undefined): number[] => {
    const producer = v?.producer();
    const upstream = producer && !quantized.has(producer.name) ? known(producer.inputs) : [];
    return upstream.length ? upstream : known([v]);
  };
  return Math.min(100, ...first.inputs.flatMap(sourceSqnr)) - out;
}

/** Check `options` (given as `field`, e.g. `accuracyBudget`): typed errors name the field. */
export function validateSensitivityOptions(options: SensitivityOptions, field: string): void {
  const { maxCandidates, precisions } = options;
  if (maxCandidates !== undefined && !(Number.isInteger(maxCandidates) && maxCandidates > 0))
    throw new InvalidArgumentError(
      `${field}.maxCandidates must be a positive integer; got ${maxCandidates}`,
      `${field}.maxCandidates`,
    );
  if (precisions !== undefined && (!precisions.length || precisions.some((p) => !PRECISIONS.includes(p))))
    throw new InvalidArgumentError(
      `${field}.precisions lists ${PRECISIONS.join(' and/or ')}; got [${precisions.join(', ')}]`,
      `${field}.precisions`,
    );
}

/**
 * Measure the sensitivity of the base quantization's layers: the `maxCandidates` blocks with the
 * highest free estimate, each at every precision asked, ranked by the output SQNR gained
 * (largest first). The base result must have been evaluated (its per-tensor errors rank them).
 * `quantize(model, { mode: 'static', ..., sensitivity: true })` runs it for you.
 *
 * @example
 * ```ts
 * const context = await VariantContext.create(floatModel, evaluatedResult, options, quantizationSchemes.get('static'), samples);
 * const [worst] = await measureSensitivity(context, { maxCandidates: 8, precisions: ['float', 'int16'] });
 * console.log(worst.layer, worst.precision, worst.gainDb, worst.noiseShare);
 * ```
 */
export async function measureSensitivity(
  context: VariantContext,
  options: SensitivityOptions = {},
): Promise<LayerSensitivity[]> {
  const { base, floatModel } = context;
  const baseSqnr = base.sqnrDb ?? (await context.outputSqnr(base.model));
  const quantized = new Set(base.quantizedNodes.map((q) => q.name));
  const blocks = layerBlocks(await context.shaped(), base.quantizedNodes).map((block) => ({
    block,
    estimate: estimatedLossDb(floatModel, block, base.tensorErrors ?? [], quantized),
  }));
  blocks.sort((a, b) => b.estimate - a.estimate);
  const measured: LayerSensitivity[] = [];
  for (const { block, estimate } of blocks.slice(0, options.maxCandidates ?? 24))
    for (const precision of options.precisions ?? ['float']) {
      const variant = await context.build(
        precision === 'float'
          ? { floatNodes: block.nodes, int16Activations: [] }
          : { floatNodes: [], int16Activations: block.activations },
      );
      const outputSqnrDb = await context.outputSqnr(variant.model);
      const gainDb = outputSqnrDb - baseSqnr;
      measured.push({
        layer: block.layer,
        opType: block.opType,
        nodes: block.nodes,
        activations: block.activations,
        precision,
        estimatedLossDb: estimate,
        outputSqnrDb,
        gainDb,
        noiseShare: Math.max(0, 1 - 10 ** (-gainDb / 10)),
        speedCost: speedCost(block, precision),
        sizeCost: Math.max(0, variant.sizeAfter - base.sizeAfter),
      });
    }
  return measured.sort((a, b) => b.gainDb - a.gainDb);
}

/**
 * Speed a block gives up. Float: its MACs leave integer kernels, and its output is converted
 * once at the float/int8 boundary. int16: onnxruntime's CPU provider has no 16-bit integer
 * kernels (QLinearConv, QLinearMatMul are 8-bit), so the block computes in float between int16
 * QuantizeLinear/DequantizeLinear pairs: the float cost plus a conversion of every activation.
 */
function speedCost(block: LayerBlock, precision: LayerPrecision): number {
  return block.macs + block.outputElements + (precision === 'int16' ? block.outputElements * block.nodes.length : 0);
}
