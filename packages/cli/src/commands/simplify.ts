import * as path from 'node:path';
import {
  BackendError,
  GraphError,
  simplify,
  type Backend,
  type Model,
  type SimplifyReport,
  type Tensor,
} from '@edgeml/core';
import { loadModel, saveModel } from '@edgeml/core/node';
import { makeFeeds } from '@edgeml/benchmark';
import { resolveCliBackend } from '../backends.js';
import type { Command, CommandContext } from '../command.js';
import { UsageError } from '../cli-error.js';
import { intOption, numberOption, shapesOption, stringOption } from '../options.js';
import { fmtBytes } from './inspect.js';
import { firstLine, openWrittenModel } from '../verify-output.js';

type Values = CommandContext['values'];

/** How far one output of the simplified model is from the input model's, on onnxruntime. */
export interface OutputDiff {
  name: string;
  maxAbsDiff: number;
  /** maxAbsDiff over the output's largest magnitude (at least 1). */
  relativeDiff: number;
}

/** The JSON document `edgeml simplify --json` prints. */
export interface SimplifyCommandReport {
  input: string;
  output: string;
  nodes: { before: number; afterLifting: number; after: number };
  parameters: { before: number; after: number };
  sizeBytes: { before: number; after: number };
  rewrites: SimplifyReport['rewrites'];
  outputs: OutputDiff[];
  tolerance: number;
}

const describeFeeds = (feeds: Record<string, Tensor>) =>
  Object.entries(feeds)
    .map(([k, t]) => `${k}[${t.dims.join('x')}]`)
    .join(', ');

async function outputsOf(backend: Backend, model: Model, feeds: Record<string, Tensor>, what: string) {
  const session = await openWrittenModel(backend, model, what);
  try {
    return await session.run(feeds);
  } catch (e) {
    const hint = what === 'input' ? '; give its input shapes with --shape name=1x3x224x224' : '';
    throw new BackendError(
      `the ${what} model does not run in ${backend.name} on ${describeFeeds(feeds)}: ${firstLine(e)}${hint}; nothing was written`,
      { backend: backend.name, cause: e },
    );
  } finally {
    await session.dispose();
  }
}

function diffOf(name: string, want: Tensor, got: Tensor | undefined): OutputDiff {
  if (!got || got.dims.join() !== want.dims.join()) return { name, maxAbsDiff: Infinity, relativeDiff: Infinity };
  const [a, b] = [want.toFloat64(), got.toFloat64()];
  let diff = 0;
  let scale = 1;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    diff = Number.isNaN(d) ? (Number.isNaN(a[i]) && Number.isNaN(b[i]) ? diff : Infinity) : Math.max(diff, d);
    scale = Math.max(scale, Math.abs(a[i]));
  }
  return { name, maxAbsDiff: diff, relativeDiff: diff / scale };
}

/**
 * Run the input and the simplified model on the same seeded random inputs (dynamic dimensions
 * from `shapes`, else 1) and compare every output. Throws, naming the cause, when the result
 * does not load or run, or an output differs by more than `tolerance` relative.
 */
export async function verifySimplified(
  original: Model,
  simplified: Model,
  shapes: Record<string, number[]>,
  tolerance: number,
): Promise<OutputDiff[]> {
  const backend = await resolveCliBackend('node');
  const inputs = original.graph.inputs
    .filter((v) => !original.graph.initializers.has(v.name))
    .map((v) => ({ name: v.name, type: v.type }));
  const feeds = makeFeeds(inputs, { shapes, seed: 1 });
  const want = await outputsOf(backend, original, feeds, 'input');
  const got = await outputsOf(backend, simplified, feeds, 'simplified');
  const diffs = Object.entries(want).map(([name, t]) => diffOf(name, t, got[name]));
  const bad = diffs.find((d) => !(d.relativeDiff <= tolerance));
  if (bad)
    throw new GraphError(
      `the simplified model's output '${bad.name}' differs from the input model's by ${bad.relativeDiff.toPrecision(3)} relative (max |diff| ${bad.maxAbsDiff.toPrecision(3)}) on ${describeFeeds(feeds)}, above --tolerance ${tolerance}; nothing was written`,
    );
  return diffs;
}

export async function runSimplify(values: Values, input: string): Promise<SimplifyCommandReport> {
  const output = stringOption(values, 'output');
  if (!output) throw new UsageError('missing -o/--output <out.onnx>', 'simplify');
  if (path.resolve(output) === path.resolve(input))
    throw new UsageError('the output must not overwrite the input model', 'simplify');
  const shapes = shapesOption(values, 'simplify');
  const tolerance = numberOption(values, 'tolerance', (n) => n >= 0, 'a number ≥ 0', 1e-5)!;
  const opset = intOption(values, 'opset');
  const model = await loadModel(input);
  const { model: result, report } = await simplify(model, { shapes, opset });
  const outputs = await verifySimplified(model, result, shapes, tolerance);
  await saveModel(output, result);
  return {
    input,
    output,
    nodes: { before: report.before.nodes, afterLifting: report.afterLifting.nodes, after: report.after.nodes },
    parameters: { before: report.before.parameters, after: report.after.parameters },
    sizeBytes: { before: report.before.sizeBytes, after: report.after.sizeBytes },
    rewrites: report.rewrites,
    outputs,
    tolerance,
  };
}

function formatReport(r: SimplifyCommandReport): string {
  const pct = (a: number, b: number) => (a ? `${(((a - b) / a) * 100).toFixed(1)} % fewer` : '');
  const rewrites = Object.entries(r.rewrites).sort((a, b) => b[1] - a[1]);
  return (
    [
      `simplified ${r.input} -> ${r.output}`,
      `nodes      ${r.nodes.before} -> ${r.nodes.after} (${pct(r.nodes.before, r.nodes.after)}; ${r.nodes.afterLifting} after constant lifting)`,
      `parameters ${r.parameters.before} -> ${r.parameters.after}`,
      `size       ${fmtBytes(r.sizeBytes.before)} -> ${fmtBytes(r.sizeBytes.after)}`,
      'rewrites',
      ...(rewrites.length ? rewrites.map(([name, n]) => `  ${name.padEnd(28)} ${n}`) : ['  (none)']),
      `checked    onnxruntime-node, same inputs: ${r.outputs.map((o) => `${o.name} max |diff| ${o.maxAbsDiff.toPrecision(3)}`).join(', ')}`,
    ].join('\n') + '\n'
  );
}

export const simplifyCommand: Command = {
  name: 'simplify',
  summary: 'fold, fuse and clean up an exported model (no Python, like onnxsim)',
  usage: 'edgeml simplify <in.onnx> -o <out.onnx> [--opset N] [--shape name=1x3x224x224] [--tolerance r] [--json]',
  help: `Simplifies a copy of the model (the input is never modified): Constant nodes become
initializers; --shape fixes dynamic input dimensions; constant folding resolves shape
arithmetic (never growing the model); exporter idioms are fused — hard-sigmoid and
hard-swish, GELU (opset 20), SiLU as Swish (opset 24), LayerNormalization (opset 17),
Softmax, Mul/Add/BatchNormalization after a Conv into its weights; transposes that cancel
are removed; equal initializers are merged; dead code goes. Fused ops are only those the
model's opset has: --opset N converts the model first (7 to 21, op by op), e.g. --opset 17
so that a decomposed LayerNorm becomes one LayerNormalization.

Before writing, the result is loaded in onnxruntime-node and run beside the input model on
the same seeded random inputs (dynamic dimensions from --shape, else 1): every output must
match within --tolerance relative (to the output's largest magnitude, at least 1), or
nothing is written and the reason is printed. The file is written atomically.

Options:
  -o, --output <file>      where to write the simplified model (required)
  --opset <n>              convert to this ONNX opset first (up or down, 7-21)
  --shape <name=dims>      an input's shape, e.g. x=1x3x640x640 (repeatable)
  --tolerance <r>          largest relative output difference accepted (default 1e-5)
  --json                   print one JSON object: input, output, nodes {before, afterLifting,
                           after}, parameters, sizeBytes {before, after}, rewrites {name: count},
                           outputs [{name, maxAbsDiff, relativeDiff}], tolerance
  -h, --help               show this help

Examples:
  edgeml simplify det.onnx -o det.simple.onnx --shape x=1x3x640x640
  edgeml simplify model.onnx -o model.simple.onnx --json
  edgeml simplify classifier.onnx -o classifier.simple.onnx --opset 17`,
  options: {
    output: { type: 'string', short: 'o' },
    shape: { type: 'string', multiple: true },
    tolerance: { type: 'string' },
    opset: { type: 'string' },
  },
  async run({ values, positionals, stdout }) {
    if (positionals.length !== 1)
      throw new UsageError(`expected one input model, got ${positionals.length}`, 'simplify');
    const report = await runSimplify(values, positionals[0]);
    stdout(values.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report));
  },
};
