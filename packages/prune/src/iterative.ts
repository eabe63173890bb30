import { InvalidArgumentError, type Model } from '@edgeml/core';
import { pruneChannels, type ChannelPruneOptions, type GroupReport } from './channel.js';
import { modelFigures, type ModelFigures } from '@edgeml/core';

/** How the removed share grows over the steps to the final ratio. */
export type PruneSchedule = 'constant' | 'polynomial';

export interface IterativePruneOptions extends ChannelPruneOptions {
  /** Prune → fine-tune rounds (default 3). */
  steps?: number;
  /** 'constant': equal increments; 'polynomial': Zhu & Gupta's cubic decay, large steps first (default). */
  schedule?: PruneSchedule;
  /** Recover accuracy after each step (e.g. with @edgeml/distill's fineTune); returns the tuned model. */
  fineTune?: (model: Model, step: number) => Promise<Model>;
  /** Score a model (higher is better), recorded per step. */
  evaluate?: (model: Model) => Promise<number>;
  onStep?: (step: IterationReport) => void;
}

export interface IterationReport {
  step: number;
  /** Share of the original channels removed so far. */
  ratio: number;
  figures: ModelFigures;
  metric?: number;
  groups: GroupReport[];
}

/** Cumulative share removed after step t of n. */
export function scheduledRatio(final: number, step: number, steps: number, schedule: PruneSchedule): number {
  const t = step / steps;
  return schedule === 'constant' ? final * t : final * (1 - (1 - t) ** 3);
}

/**
 * Prune a step, fine-tune, evaluate, repeat: the removed share follows the schedule to
 * `ratio` (of the original channels) over `steps` rounds, so the network adapts as it shrinks.
 *
 * @example
 * ```ts
 * const r = await pruneIteratively(model, { ratio: 0.5, steps: 3, fineTune: (m) => tune(m), evaluate: (m) => accuracy(m) });
 * ```
 */
export async function pruneIteratively(
  model: Model,
  options: IterativePruneOptions,
): Promise<{ model: Model; steps: IterationReport[] }> {
  const steps = options.steps ?? 3;
  if (!Number.isInteger(steps) || steps < 1)
    throw new InvalidArgumentError(`steps must be a positive integer, got ${steps}`, 'steps');
  const schedule = options.schedule ?? 'polynomial';
  if (schedule !== 'constant' && schedule !== 'polynomial')
    throw new InvalidArgumentError(`schedule must be constant or polynomial, got '${schedule}'`, 'schedule');
  let current = model;
  let removed = 0;
  const reports: IterationReport[] = [];
  for (let step = 1; step <= steps; step++) {
    const target = scheduledRatio(options.ratio, step, steps, schedule);
    // Of what is left, remove the share that brings the total to the target.
    const stepRatio = Math.min(0.999, Math.max(0, (target - removed) / (1 - removed)));
    const r = await pruneChannels(current, { ...options, ratio: stepRatio });
    current = r.model;
    removed = target;
    if (options.fineTune) current = await options.fineTune(current, step);
    const report: IterationReport = { step, ratio: target, figures: modelFigures(current), groups: r.groups };
    if (options.evaluate) report.metric = await options.evaluate(current);
    reports.push(report);
    options.onStep?.(report);
  }
  return { model: current, steps: reports };
}
