import { unsizedInputs, type InputOptions } from './inputs.js';
import { BackendError, type Backend, type Session, type SessionOptions, type Tensor } from '@edgeml/core';

/**
 * Node's `process`: absent in browsers and web workers (the studio benchmarks there), where
 * memory, CPU time and the pid are not reported and read as 0, NaN and 0.
 */
const nodeProcess = (globalThis as { process?: NodeJS.Process }).process;

/** A CPU-time clock started now: it returns the user + system ms used since, or NaN where the platform has none. */
export function startCpuClock(): () => number {
  if (!nodeProcess?.cpuUsage) return () => NaN;
  const start = nodeProcess.cpuUsage();
  return () => {
    const used = nodeProcess.cpuUsage(start);
    return (used.user + used.system) / 1000;
  };
}

/** This process's id, or 0 where there is no process to name (browsers). */
export const processId = (): number => nodeProcess?.pid ?? 0;

/** Peak memory seen while a loop ran. */
export interface MemoryPeaks {
  rssBytes: number;
  heapBytes: number;
}

/**
 * Samples process memory between runs, never inside a timed interval. A sample costs ~8 µs
 * (measured here), so after the first 16 runs only every 8th run is sampled: the peak of a
 * steady inference loop is reached early, and the loop's wall time stays honest.
 */
export class MemorySampler {
  private count = 0;
  readonly peaks: MemoryPeaks = { rssBytes: 0, heapBytes: 0 };

  sample(force = false): void {
    if (!nodeProcess?.memoryUsage || (!force && this.count++ >= 16 && this.count % 8 !== 0)) return;
    const m = nodeProcess.memoryUsage();
    if (m.rss > this.peaks.rssBytes) this.peaks.rssBytes = m.rss;
    if (m.heapUsed > this.peaks.heapBytes) this.peaks.heapBytes = m.heapUsed;
  }
}

/** One session and what it took to make and first run it. */
export interface OpenedSession {
  session: Session;
  initMs: number;
  firstRunMs: number;
  firstOutputs: Record<string, Tensor>;
  feeds: Record<string, Tensor>;
}

/**
 * Create a session and run it once, timing both (init and first inference are what a cold
 * start costs). Feeds are made from the session's declared inputs, so no probe session is needed.
 */
export async function openSession(
  backend: Backend,
  source: Parameters<Backend['createSession']>[0],
  options: SessionOptions,
  makeFeeds: (session: Session) => Record<string, Tensor>,
  label: string,
  inputOptions?: InputOptions,
): Promise<OpenedSession> {
  const t0 = performance.now();
  const session = await backend.createSession(source, options);
  const initMs = performance.now() - t0;
  try {
    const feeds = makeFeeds(session);
    const t1 = performance.now();
    const firstOutputs = await session.run(feeds);
    return { session, initMs, firstRunMs: performance.now() - t1, firstOutputs, feeds };
  } catch (e) {
    await session.dispose();
    const unsized = unsizedInputs(session.inputs, inputOptions);
    const why =
      (e as Error).message +
      (unsized.length
        ? ` (dynamic dimensions ran at size 1 for ${unsized.join(', ')}; set real sizes with shapes / --shape)`
        : '');
    throw e instanceof BackendError
      ? new BackendError(`${label}: ${why}`, { backend: backend.name, cause: e })
      : Object.assign(e as Error, { message: `${label}: ${why}` });
  }
}

/** One timed inference, in milliseconds. */
export async function timedRun(session: Session, feeds: Record<string, Tensor>): Promise<number> {
  const t0 = performance.now();
  await session.run(feeds);
  return performance.now() - t0;
}

/**
 * What the timing loop itself costs per run: the clock reads, the await, the sample store
 * and the memory sampler, around a run that does nothing. Reported with every result so
 * a reader can tell harness time from model time on very fast models.
 */
export async function harnessOverheadMs(iterations = 2000): Promise<number> {
  const noop: Pick<Session, 'run'> = { run: async () => ({}) };
  const samples = new Float64Array(iterations);
  const memory = new MemorySampler();
  const t0 = performance.now();
  for (let i = 0; i < iterations; i++) {
    samples[i] = await timedRun(noop as Session, {});
    memory.sample();
  }
  return (performance.now() - t0) / iterations;
}
