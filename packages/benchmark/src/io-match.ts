import { InvalidArgumentError, type Session, type Tensor, type ValueInfo } from '@edgeml/core';

/** How one candidate's inputs and outputs line up with the baseline's. */
export interface IoMatch {
  /** The baseline's feeds under the candidate's input names (the same tensors, no copy). */
  feeds(baselineFeeds: Record<string, Tensor>): Record<string, Tensor>;
  /** The candidate's outputs under the baseline's output names. */
  outputs(candidateOutputs: Record<string, Tensor>): Record<string, Tensor>;
  /** Baseline name → candidate name, for the inputs and outputs whose names differ (absent when all agree). */
  byPosition?: { inputs: Record<string, string>; outputs: Record<string, string> };
}

const sameNames = (a: readonly ValueInfo[], b: readonly ValueInfo[]) =>
  a.length === b.length && a.every((v) => b.some((w) => w.name === v.name));

/** Why two values cannot be the same tensor (dtype, rank, or a fixed dimension differs), or undefined. */
function mismatch(a: ValueInfo, b: ValueInfo): string | undefined {
  const [ta, tb] = [a.type, b.type];
  if (ta?.kind !== 'tensor' || tb?.kind !== 'tensor') return undefined;
  if (ta.dtype && tb.dtype && ta.dtype !== tb.dtype) return `${ta.dtype} vs ${tb.dtype}`;
  if (!ta.shape || !tb.shape) return undefined;
  const fixed = (d: unknown) => typeof d === 'number';
  if (
    ta.shape.length !== tb.shape.length ||
    ta.shape.some((d, i) => fixed(d) && fixed(tb.shape![i]) && d !== tb.shape![i])
  )
    return `shape [${ta.shape.join(',')}] vs [${tb.shape.join(',')}]`;
  return undefined;
}

function positional(baseline: readonly ValueInfo[], candidate: readonly ValueInfo[], what: string, label: string) {
  const list = (vs: readonly ValueInfo[]) => vs.map((v) => v.name).join(', ');
  const refuse = (why: string): never => {
    throw new InvalidArgumentError(
      `${label}: its ${what} (${list(candidate)}) do not match the baseline's (${list(baseline)}) by name, and not by position either: ${why}`,
      what,
    );
  };
  if (baseline.length !== candidate.length) refuse(`${candidate.length} vs ${baseline.length} ${what}`);
  baseline.forEach((b, i) => {
    const why = mismatch(b, candidate[i]);
    if (why) refuse(`'${b.name}' and '${candidate[i].name}' differ (${why})`);
  });
  return Object.fromEntries(baseline.map((b, i) => [b.name, candidate[i].name]));
}

/**
 * Line a candidate's inputs and outputs up with the baseline's. When the names agree, as they
 * are. Otherwise by position, when both have as many inputs (and outputs) of the same dtypes and
 * fixed dimensions in the same order: the same network from two converters, which name tensors
 * their own way (tf2onnx's `input_1` is TFLite's `serving_default_input_1:0`). Anything else is
 * an error naming both lists.
 *
 * @example
 * ```ts
 * const match = matchIo(onnxSession, tfliteSession, 'model.tflite');
 * const out = match.outputs(await tfliteSession.run(match.feeds(feeds))); // keyed like the ONNX outputs
 * ```
 */
export function matchIo(
  baseline: Pick<Session, 'inputs' | 'outputs'>,
  candidate: Pick<Session, 'inputs' | 'outputs'>,
  label: string,
): IoMatch {
  const inputsAgree = sameNames(baseline.inputs, candidate.inputs);
  const outputsAgree = sameNames(baseline.outputs, candidate.outputs);
  if (inputsAgree && outputsAgree) return { feeds: (f) => f, outputs: (o) => o };
  const inputs = inputsAgree
    ? Object.fromEntries(baseline.inputs.map((v) => [v.name, v.name]))
    : positional(baseline.inputs, candidate.inputs, 'inputs', label);
  const outputs = outputsAgree
    ? Object.fromEntries(baseline.outputs.map((v) => [v.name, v.name]))
    : positional(baseline.outputs, candidate.outputs, 'outputs', label);
  const renamed = (pairs: Record<string, string>) =>
    Object.fromEntries(Object.entries(pairs).filter(([from, to]) => from !== to));
  return {
    feeds: (f) => Object.fromEntries(Object.entries(f).map(([name, t]) => [inputs[name] ?? name, t])),
    outputs: (o) => Object.fromEntries(Object.entries(outputs).flatMap(([b, c]) => (c in o ? [[b, o[c]]] : []))),
    byPosition: { inputs: renamed(inputs), outputs: renamed(outputs) },
  };
}
