import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  fixInputShapes,
  formatType,
  inferShapes,
  modelStats,
  type Model,
  type Value,
  type WeightLocations,
} from '@edgeml/core';
import { loadModel, modelTensors } from '@edgeml/core/node';
import type { Command } from '../command.js';
import { UsageError } from '../cli-error.js';
import { defaultModelPath } from '../default-model.js';
import { shapesOption } from '../options.js';

/** The JSON document `edgeml inspect --json` prints. */
export interface InspectResult {
  file: string;
  irVersion: number;
  opsetImports: { domain: string; version: number }[];
  producer: { name: string; version: string };
  /** The tool that wrote the model: the producer field, or recognised from its naming when that is empty. */
  exporter: string;
  inputs: { name: string; dtype: string | null; shape: (number | string | null)[] | null }[];
  outputs: { name: string; dtype: string | null; shape: (number | string | null)[] | null }[];
  nodeCount: number;
  totalNodeCount: number;
  opCounts: Record<string, number>;
  parameters: number;
  parameterBytes: number;
  /** Where the parameters live: initializers, subgraph initializers, Constant nodes, behind Cast/DequantizeLinear. */
  weights: WeightLocations;
  /** Model file plus its external data files. */
  sizeBytes: number;
  externalDataFiles: string[];
  /** Total MACs over Conv/Gemm/MatMul nodes whose shapes are known; null if none are. */
  macs: number | null;
  macsUnknownNodes: string[];
  metadata: Record<string, string>;
}

function io(v: Value) {
  const t = v.type;
  const tensor = t && (t.kind === 'tensor' || t.kind === 'sparse_tensor') ? t : undefined;
  return { name: v.name, dtype: tensor?.dtype ?? null, shape: tensor?.shape ?? null, type: formatType(t) };
}

/** paddle2onnx leaves the producer empty but names dynamic dims 'p2o.DynamicDimension.N' and values '*.tmp_N'. */
function exporterOf(model: Model): string {
  const producer = [model.producerName, model.producerVersion].filter(Boolean).join(' ');
  if (producer) return producer;
  const dims = model.graph.inputs.flatMap((v) => v.shape ?? []);
  if (dims.some((d) => typeof d === 'string' && d.startsWith('p2o.'))) return 'paddle2onnx (recognised by its names)';
  return 'unknown';
}

/** Inspect a model: structure, size and cost; `shapes` fixes dynamic input shapes for the MAC count. */
export async function inspectModel(file: string, shapes: Record<string, number[]> = {}): Promise<InspectResult> {
  const model: Model = await loadModel(file);
  fixInputShapes(model, shapes);
  // Shapes feed the MAC counts; shape conflicts do not stop an inspection.
  inferShapes(model, { strict: false });
  const stats = modelStats(model);
  const dir = path.dirname(path.resolve(file));
  const externalFiles = new Set<string>();
  for (const t of modelTensors(model)) if (t.externalData) externalFiles.add(t.externalData.location);
  let sizeBytes = fs.statSync(file).size;
  for (const loc of externalFiles) sizeBytes += fs.statSync(path.join(dir, loc)).size;
  const inits = model.graph.initializers;
  const strip = ({ type: _t, ...rest }: ReturnType<typeof io>) => rest;
  return {
    file,
    irVersion: model.irVersion,
    opsetImports: [...model.opsetImports].map(([domain, version]) => ({ domain, version })),
    producer: { name: model.producerName, version: model.producerVersion },
    exporter: exporterOf(model),
    inputs: model.graph.inputs.filter((v) => !inits.has(v.name)).map((v) => strip(io(v))),
    outputs: model.graph.outputs.map((v) => strip(io(v))),
    nodeCount: stats.nodeCount,
    totalNodeCount: stats.totalNodeCount,
    opCounts: stats.opCounts,
    parameters: stats.parameters,
    parameterBytes: stats.parameterBytes,
    weights: stats.weights,
    sizeBytes,
    externalDataFiles: [...externalFiles],
    macs: stats.nodeMacs.length ? stats.macs : null,
    macsUnknownNodes: stats.macsUnknown,
    metadata: Object.fromEntries(model.metadata),
  };
}

const fmtInt = (n: number) => n.toLocaleString('en-US');
export const fmtBytes = (n: number) =>
  n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(2)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;
const fmtShape = (s: InspectResult['inputs'][number]) =>
  `${s.dtype ?? '?'}${s.shape ? `[${s.shape.map((d) => d ?? '?').join(', ')}]` : '[...]'}`;

function formatWeights(w: WeightLocations): string {
  const parts = [
    w.initializers.tensors && `${fmtInt(w.initializers.tensors)} initializers`,
    w.subgraphInitializers.tensors && `${fmtInt(w.subgraphInitializers.tensors)} initializers in subgraphs`,
    w.constantNodes.tensors &&
      `${fmtInt(w.constantNodes.tensors)} Constant nodes (${fmtInt(w.constantNodes.elements)} elements; quantize and prune lift them to initializers)`,
    w.behindCast && `${fmtInt(w.behindCast)} read through Cast`,
    w.behindDequantize && `${fmtInt(w.behindDequantize)} read through DequantizeLinear (already quantized)`,
  ].filter(Boolean);
  return parts.join(', ') || 'none';
}

export function formatInspect(r: InspectResult): string {
  const lines = [
    `model      ${r.file}`,
    `size       ${fmtBytes(r.sizeBytes)} (${fmtInt(r.sizeBytes)} bytes${r.externalDataFiles.length ? `, external data: ${r.externalDataFiles.join(', ')}` : ''})`,
    `ir version ${r.irVersion}`,
    `opsets     ${r.opsetImports.map((o) => `${o.domain || 'ai.onnx'} ${o.version}`).join(', ')}`,
    `exporter   ${r.exporter}`,
    'inputs',
    ...r.inputs.map((i) => `  ${i.name}: ${fmtShape(i)}`),
    'outputs',
    ...r.outputs.map((o) => `  ${o.name}: ${fmtShape(o)}`),
    `nodes      ${fmtInt(r.nodeCount)}${r.totalNodeCount !== r.nodeCount ? ` (${fmtInt(r.totalNodeCount)} with subgraphs)` : ''}`,
    `parameters ${fmtInt(r.parameters)} (${fmtBytes(r.parameterBytes)})`,
    `weights    ${formatWeights(r.weights)}`,
    `MACs       ${r.macs === null ? 'unknown (no Conv/Gemm/MatMul with known shapes; give --shape name=1x3x224x224 for dynamic inputs)' : fmtInt(r.macs)}${r.macsUnknownNodes.length ? ` (+${r.macsUnknownNodes.length} nodes with unknown shapes)` : ''}`,
    'ops',
    ...Object.entries(r.opCounts)
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .map(([op, n]) => `  ${op.padEnd(24)} ${n}`),
  ];
  return lines.join('\n') + '\n';
}

export const inspectCommand: Command = {
  name: 'inspect',
  summary: "show a model's inputs, outputs, ops, parameters, MACs and size",
  usage: 'edgeml inspect [model.onnx] [--shape name=1x3x224x224] [--json]',
  help: `Reads an ONNX model (with its external data) and prints its IR version, opsets,
producer, inputs and outputs with dtype and shape, node count, op histogram,
parameter count and where the weights live (initializers, subgraphs, Constant nodes, behind
Cast or DequantizeLinear), MACs (where shapes are known) and file size.

Without a model path it inspects the embedded default model (Silero VAD).

Options:
  --shape name=AxBxC  concrete shape for an input with dynamic dimensions, so that MACs can
               be counted (repeatable)
  --json       print one JSON object: irVersion, opsetImports, producer, inputs,
               outputs, nodeCount, opCounts, parameters, weights, sizeBytes, macs, ...
  -h, --help   show this help

Examples:
  edgeml inspect
  edgeml inspect model.onnx --json
  edgeml inspect det.onnx --shape x=1x3x640x640`,
  options: { shape: { type: 'string', multiple: true } },
  async run({ values, positionals, stdout }) {
    if (positionals.length > 1) throw new UsageError(`expected one model path, got ${positionals.length}`, 'inspect');
    const file = positionals[0] ?? defaultModelPath();
    const result = await inspectModel(file, shapesOption(values, 'inspect'));
    stdout(values.json ? JSON.stringify(result, null, 2) + '\n' : formatInspect(result));
  },
};
