/**
 * Mixed precision by runs of activations. One-at-a-time ablation (sensitivity.ts) finds the
 * layers whose own error dominates; it misses error that accumulates over a stretch of a deep
 * network, where every tensor alone is fine (30 dB) and no single one moves the output. PP-OCRv4's
 * recognizer is such a model: its last stage's hard-swish outputs, widened to int16 together,
 * bring the character accuracy back, and none of them alone does. This search measures
 * contiguous runs of activations instead, coarse first, then halves the run that meets the
 * budget until neither half does (a bisection, as Intel Neural Compressor's and NNCF's
 * accuracy-aware searches narrow a fallback set).
 *
 * Only activations between elementwise ops are candidates: widening one that a Conv, MatMul or
 * Gemm reads or writes would move that op off its integer kernel, which is where static int8's
 * speed comes from; widening an elementwise op's input or output costs only that op.
 */
import type { Model, Node } from '@edgeml/core';
import type { VariantContext } from './layer-variant.js';
import type { QuantizeResult } from './quantize.js';

const WEIGHTED = new Set(['Conv', 'ConvTranspose', 'MatMul', 'Gemm']);
/** Share of a run's gain over the base a half must keep to replace it. */
const KEEP_SHARE = 0.75;

/** What a run search hands back: the variant it chose (when any step improved on the base) and the runs taken. */
export interface ActivationRunSearch {
  result?: QuantizeResult;
  /** The runs widened to int16, in the order taken; each lists its activations in graph order. */
  runs: string[][];
  /** The chosen variant's output SQNR (dB); with a user metric, its score is `result.metric`. */
  sqnrDb: number;
  met: boolean;
  /** Variants built and measured. */
  measured: number;
}

/** How the run search measures a variant and decides that it meets the budget. */
export interface RunSearchGoal {
  /** Score of a variant (higher is better): the user metric when there is one, else the output SQNR. */
  score: (result: QuantizeResult, sqnrDb: number) => Promise<number>;
  met: (result: QuantizeResult, sqnrDb: number) => Promise<boolean>;
  /** Runs the first, coarse pass splits the candidates into; default 8. */
  segments?: number;
  /** Coarse passes when no run alone meets the budget (each adds the best run found); default 3. */
  rounds?: number;
}

/**
 * The activations of the base quantization that no weighted op reads or writes, in graph order:
 * tensors with a calibrated range (the base quantized them) between elementwise or pooling ops.
 * Node names are not compared with the quantized nodes': placement may have rewritten a node
 * (a HardSwish into integer Add and Mul) whose output keeps its name.
 */
export function elementwiseActivations(model: Model, base: QuantizeResult): string[] {
  const ranged = new Set(Object.keys(base.ranges ?? {}));
  const touchesWeighted = (nodes: (Node | undefined)[]) => nodes.some((n) => !n || WEIGHTED.has(n.opType));
  const out: string[] = [];
  for (const node of model.graph) {
    if (WEIGHTED.has(node.opType)) continue;
    for (const value of node.outputs) {
      if (!ranged.has(value.name) || model.graph.outputs.includes(value)) continue;
      const readers = value.uses().map((u) => u.node);
      if (readers.length && !touchesWeighted(readers)) out.push(value.name);
    }
  }
  return out;
}

function split<T>(items: readonly T[], parts: number): T[][] {
  const out: T[][] = [];
  const size = Math.ceil(items.length / Math.max(1, parts));
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Halve a run that meets the goal while a half still meets it and keeps most of its gain, then
 * step back one halving: the narrowest run that met the target on the evaluation samples sits at
 * the edge of their noise, and on held-out data its parent (twice as long, still cheap: these
 * are elementwise ops) keeps the accuracy where it does not (PP-OCRv4 rec: 4 activations met
 * the budget on 48 lines and lost 1.8 points on 64 others).
 */
async function narrowed(
  start: { run: string[]; at: Measured },
  measureRun: (run: string[]) => Promise<Measured>,
  baseScore: number,
): Promise<{ run: string[]; at: Measured }> {
  const trail = [start];
  for (let current = start; current.at.met && current.run.length > 1;) {
    let narrower: { run: string[]; at: Measured } | undefined;
    for (const half of split(current.run, 2)) {
      const m = await measureRun(half);
      // A half must keep most of the run's gain, not just scrape past the target.
      const keeps = m.score - baseScore >= KEEP_SHARE * (current.at.score - baseScore);
      if (m.met && keeps && (!narrower || m.score > narrower.at.score)) narrower = { run: half, at: m };
    }
    if (!narrower) break;
    trail.push((current = narrower));
  }
  return trail.length > 1 ? trail[trail.length - 2] : trail[0];
}

interface Measured {
  result: QuantizeResult;
  sqnrDb: number;
  score: number;
  met: boolean;
}

/**
 * Widen runs of elementwise activations to int16 until `goal` is met: split the candidates into
 * `segments` runs and measure each (on top of the runs already taken); when the best meets the
 * goal, narrow it by halving (see `narrowed`); otherwise take the best and go again, `rounds` times.
 * The base ranges are reused throughout (no calibration).
 *
 * @example
 * ```ts
 * const search = await searchActivationRuns(context, {
 *   score: async (_r, sqnrDb) => sqnrDb,
 *   met: async (_r, sqnrDb) => sqnrDb >= 20,
 * });
 * console.log(search.met, search.runs.map((run) => `${run[0]} … ${run.at(-1)} (${run.length})`));
 * ```
 */
export async function searchActivationRuns(context: VariantContext, goal: RunSearchGoal): Promise<ActivationRunSearch> {
  const candidates = elementwiseActivations(context.floatModel, context.base);
  let measuredCount = 0;
  const measure = async (taken: readonly string[][], run: readonly string[]): Promise<Measured> => {
    measuredCount++;
    const result = await context.build({ floatNodes: [], int16Activations: [...taken.flat(), ...run] });
    const sqnrDb = await context.outputSqnr(result.model);
    return { result, sqnrDb, score: await goal.score(result, sqnrDb), met: await goal.met(result, sqnrDb) };
  };
  const baseSqnr = context.base.sqnrDb ?? -Infinity;
  const baseScore = await goal.score(context.base, baseSqnr);
  const taken: string[][] = [];
  let best: Measured | undefined;
  let pool = candidates;
  for (let round = 0; round < (goal.rounds ?? 3) && pool.length; round++) {
    let top: { run: string[]; at: Measured } | undefined;
    for (const run of split(pool, goal.segments ?? 8)) {
      const at = await measure(taken, run);
      if (!top || (at.met && !top.at.met) || (at.met === top.at.met && at.score > top.at.score)) top = { run, at };
    }
    if (!top || top.at.score <= (best?.score ?? baseScore)) break;
    const { run, at } = await narrowed(top, (half) => measure(taken, half), baseScore);
    taken.push(run);
    best = at;
    if (at.met) break;
    const used = new Set(run);
    pool = pool.filter((name) => !used.has(name));
  }
  if (!best) return { runs: [], sqnrDb: baseSqnr, met: false, measured: measuredCount };
  return {
    result: best.result,
    runs: taken,
    sqnrDb: best.sqnrDb,
    met: best.met,
    measured: measuredCount,
  };
}
