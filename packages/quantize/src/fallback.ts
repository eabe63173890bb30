/** The accuracy budget: layers that add the most error go back to float until the budget is met. */
import { encodedSize, type Model, type Node, type Tensor } from '@edgeml/core';
import type { CalibrationData } from './calibrate.js';
import { evaluate } from './evaluate.js';
import type { QuantizeResult, StaticModeOptions } from './quantize.js';
import { runScheme, type QuantizationScheme } from './schemes.js';

/** Greedy fallback: put back in float the node that adds the most noise, re-quantize with the same ranges, measure again. */
export async function fallBack(
  result: QuantizeResult,
  original: Model,
  preprocessed: Model,
  options: StaticModeOptions,
  scheme: QuantizationScheme<never>,
  data: CalibrationData,
  reference?: readonly Record<string, Tensor>[],
): Promise<QuantizeResult> {
  const budget = options.accuracyBudget!;
  const fallback: string[] = [];
  let current = result;
  const met = async (r: QuantizeResult) => {
    if (budget.metric) r.metric = await budget.metric(r.model);
    return (
      (budget.minSqnrDb === undefined || (r.sqnrDb ?? Infinity) >= budget.minSqnrDb) &&
      (r.metric === undefined || r.metric >= budget.minMetric!)
    );
  };
  let ok = await met(current);
  while (!ok && fallback.length < (budget.maxFallbackNodes ?? 10)) {
    const sqnr = new Map((current.tensorErrors ?? []).map((e) => [e.name, e.sqnrDb]));
    const model = preprocessed.clone();
    let worst: { name: string; added: number } | undefined;
    for (const n of model.graph) {
      if (!current.quantizedNodes.some((q) => q.name === n.name && q.opType === n.opType) || !n.name) continue;
      const out = sqnr.get(n.outputs[0]?.name ?? '');
      if (out === undefined) continue;
      const ins = n.inputs.map((v) => (v ? sqnr.get(v.name) : undefined)).filter((x): x is number => x !== undefined);
      const added = (ins.length ? Math.min(...ins) : 100) - out;
      if (!worst || added > worst.added) worst = { name: n.name, added };
    }
    if (!worst) break;
    fallback.push(worst.name);
    const user = options.exclude;
    const exclude =
      typeof user === 'function'
        ? (n: Node) => user(n) || fallback.includes(n.name)
        : [...(user ?? []), ...fallback.map((f) => `node:${f}`)];
    const r = await runScheme(model, scheme, {
      ...options,
      exclude,
      rangeOverrides: { ...options.rangeOverrides, ...result.ranges },
    });
    current = {
      ...result,
      model,
      quantizedNodes: r.quantized,
      skippedNodes: r.skipped,
      sizeAfter: encodedSize(model),
      ranges: r.ranges,
      dequantizedNames: r.dequantizedNames,
    };
    await evaluate(current, original, data, options.backend, reference);
    ok = await met(current);
  }
  current.fallbackNodes = fallback;
  current.budgetMet = ok;
  return current;
}
