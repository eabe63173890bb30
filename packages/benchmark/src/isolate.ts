// Namespace imports: in a browser bundle (EdgeML Studio) Node's modules are stubs that throw when
// a name is read from them, and a named import reads it as the module loads; this file's
// functions are never called there.
import * as childProcess from 'node:child_process';
import * as fs from 'node:fs';
import * as nodeUrl from 'node:url';
import { BackendError, EdgeMLError, Tensor, type DType } from '@edgeml/core';
import type { BenchmarkOptions, BenchmarkResult } from './benchmark.js';

/**
 * How a child process builds the backend: a module it can import (a package name resolvable
 * from the child, or an absolute path / file URL) and the name of the Backend class it exports.
 *
 * @example
 * ```ts
 * { backendModule: import.meta.resolve('@edgeml/runtime-node'), backendExport: 'NodeBackend' }
 * ```
 */
export interface IsolationOptions {
  backendModule: string;
  backendExport: string;
  /** Passed to the backend's constructor (structured-cloneable). */
  backendOptions?: unknown;
}

/** Tensors cross the process boundary as plain data; structured clone keeps the typed arrays. */
export interface PlainTensor {
  dtype: DType;
  dims: number[];
  bytes: Uint8Array;
}

/** What the parent sends the child. */
export interface IsolatedRequest {
  model: string | Uint8Array;
  isolation: IsolationOptions;
  options: Omit<BenchmarkOptions, 'backend' | 'onProgress' | 'inputs'> & {
    inputs?: Omit<NonNullable<BenchmarkOptions['inputs']>, 'values'> & { values?: Record<string, PlainTensor> };
  };
}

export type IsolatedReply =
  { ok: true; result: BenchmarkResult } | { ok: false; error: { name: string; code?: string; message: string } };

export function toPlain(t: Tensor): PlainTensor {
  return { dtype: t.dtype, dims: [...t.dims], bytes: t.bytes.slice() };
}

export function fromPlain(p: PlainTensor): Tensor {
  return Tensor.fromBytes(p.dtype, p.dims, p.bytes);
}

function childScript(): string {
  // Built: dist/isolated-child.js beside this module. From sources (tests): the built one.
  for (const rel of ['./isolated-child.js', '../dist/isolated-child.js']) {
    const file = nodeUrl.fileURLToPath(new URL(rel, import.meta.url));
    if (fs.existsSync(file)) return file;
  }
  throw new BackendError('the isolated benchmark child script is missing; build @edgeml/benchmark first', {
    backend: 'isolate',
  });
}

/**
 * Run {@link benchmark} for one model in a fresh child process, so its memory figures are its
 * own (peak RSS of the child, not of everything this process has loaded).
 */
export async function benchmarkIsolated(
  model: string | Uint8Array,
  options: BenchmarkOptions,
  isolation: IsolationOptions,
  index = 0,
): Promise<BenchmarkResult> {
  // Only plain settings cross the process boundary (no backend object, no callbacks).
  const { inputs, runs, durationMs, warmup, threads, session, profile, thresholds, label, batchSize } = options;
  const rest = { runs, durationMs, warmup, threads, session, profile, thresholds, label, batchSize };
  const values = inputs?.values
    ? Object.fromEntries(Object.entries(inputs.values).map(([k, t]) => [k, toPlain(t)]))
    : undefined;
  const request: IsolatedRequest = {
    model,
    isolation,
    options: { ...rest, inputs: inputs ? { ...inputs, values } : undefined },
  };
  const child = childProcess.fork(childScript(), [], {
    serialization: 'advanced',
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  return new Promise<BenchmarkResult>((resolve, reject) => {
    let settled = false;
    child.on('message', (reply: IsolatedReply) => {
      settled = true;
      child.disconnect();
      if (reply.ok) resolve(reply.result);
      else
        reject(
          new BackendError(
            `candidate ${index} (${options.label ?? 'model'}) in its child process: ${reply.error.message}`,
            { backend: 'isolate' },
          ),
        );
    });
    child.on('exit', (code, signal) => {
      if (!settled)
        reject(
          new BackendError(
            `the isolated benchmark process for candidate ${index} exited (${signal ?? code}) before reporting${stderr ? `: ${stderr.trim().split('\n').slice(-3).join(' ')}` : ''}`,
            { backend: 'isolate' },
          ),
        );
    });
    child.send(request);
  });
}

export function errorReply(e: unknown): IsolatedReply {
  const err = e as Error;
  return {
    ok: false,
    error: { name: err.name, code: e instanceof EdgeMLError ? e.code : undefined, message: err.message },
  };
}
