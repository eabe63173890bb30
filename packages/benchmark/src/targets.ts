import type { LatencyStats } from './statistics.js';

/**
 * The field's rules of thumb for edge models. Sizes are in bytes with 1 MB = 10^6 bytes, as
 * app stores and device spec sheets count them.
 */
export interface Thresholds {
  /** Real-time budget (default 50 ms: a 20 fps camera or audio loop). */
  realtimeMs: number;
  /** Interactive budget (default 200 ms: a response that feels immediate). */
  interactiveMs: number;
  /** Mobile app size budget (default 20 MB). */
  mobileBytes: number;
  /** Embedded/microcontroller-class budget (default 5 MB). */
  embeddedBytes: number;
  /** Which latency statistic must meet the budgets (default p95: users feel the tail, not the median). */
  latencyStatistic: keyof LatencyStats;
}

export const DEFAULT_THRESHOLDS: Thresholds = {
  realtimeMs: 50,
  interactiveMs: 200,
  mobileBytes: 20e6,
  embeddedBytes: 5e6,
  latencyStatistic: 'p95',
};

/** One rule of thumb, met or missed. */
export interface TargetCheck {
  target: 'real-time' | 'interactive' | 'mobile size' | 'embedded size';
  /** The measured figure (ms or bytes). */
  value: number;
  limit: number;
  met: boolean;
}

/** Check latency and size against the thresholds (defaults overridden by `thresholds`). */
export function checkTargets(
  latency: LatencyStats,
  sizeBytes: number,
  thresholds: Partial<Thresholds> = {},
): TargetCheck[] {
  const t = { ...DEFAULT_THRESHOLDS, ...thresholds };
  const ms = latency[t.latencyStatistic];
  return [
    { target: 'real-time', value: ms, limit: t.realtimeMs, met: ms < t.realtimeMs },
    { target: 'interactive', value: ms, limit: t.interactiveMs, met: ms < t.interactiveMs },
    { target: 'mobile size', value: sizeBytes, limit: t.mobileBytes, met: sizeBytes < t.mobileBytes },
    { target: 'embedded size', value: sizeBytes, limit: t.embeddedBytes, met: sizeBytes < t.embeddedBytes },
  ];
}
