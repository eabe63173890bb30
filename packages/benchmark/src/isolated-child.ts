// Entry of the child process that benchmarkIsolated() forks: one request in, one reply out.
import { pathToFileURL } from 'node:url';
import * as path from 'node:path';
import type { Backend } from '@edgeml/core';
import { benchmark } from './benchmark.js';
import { errorReply, fromPlain, type IsolatedReply, type IsolatedRequest } from './isolate.js';

function importable(spec: string): string {
  return path.isAbsolute(spec) ? pathToFileURL(spec).href : spec;
}

async function serve(request: IsolatedRequest): Promise<void> {
  let reply: IsolatedReply;
  try {
    const mod = (await import(importable(request.isolation.backendModule))) as Record<
      string,
      new (options?: unknown) => Backend
    >;
    const Ctor = mod[request.isolation.backendExport];
    if (typeof Ctor !== 'function')
      throw new Error(`'${request.isolation.backendModule}' has no export '${request.isolation.backendExport}'`);
    const { inputs, ...options } = request.options;
    const values = inputs?.values
      ? Object.fromEntries(Object.entries(inputs.values).map(([k, p]) => [k, fromPlain(p)]))
      : undefined;
    reply = {
      ok: true,
      result: await benchmark(request.model, {
        ...options,
        inputs: inputs ? { ...inputs, values } : undefined,
        backend: new Ctor(request.isolation.backendOptions),
      }),
    };
  } catch (e) {
    reply = errorReply(e);
  }
  process.send!(reply);
}

process.once('message', (request: IsolatedRequest) => void serve(request));
