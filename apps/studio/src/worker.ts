// The studio's worker: all decoding, optimization and benchmarking happens here, off the page's thread.
import { WebBackend } from '@edgeml/runtime-web';
import { benchmarkVariants } from './bench.js';
import { inspectModel } from './inspect.js';
import { pruneVariant, quantizeVariant, simplifyVariant } from './optimize.js';
import type { StudioRequest, StudioResult, WorkerMessage, WorkerSetup } from './protocol.js';

interface WorkerScope {
  postMessage(message: WorkerMessage, transfer?: Transferable[]): void;
  onmessage: ((event: MessageEvent<WorkerSetup | { id: number; request: StudioRequest }>) => void) | null;
}
const scope = self as unknown as WorkerScope;

let setup: WorkerSetup | undefined;
let backend: Promise<WebBackend> | undefined;

/** One onnxruntime-web runtime per worker, started on first use (calibration or benchmark). */
function webBackend(): Promise<WebBackend> {
  backend ??= (async () => {
    const b = new WebBackend({ wasmPaths: setup!.wasmPaths, numThreads: setup!.numThreads });
    await b.init();
    return b;
  })();
  return backend;
}

async function handle(id: number, request: StudioRequest): Promise<StudioResult> {
  switch (request.kind) {
    case 'inspect':
      return inspectModel(request.model, request.fileName, request.shapes);
    case 'simplify':
      return simplifyVariant(request.model);
    case 'quantize':
      return quantizeVariant(
        request.model,
        { choice: request.mode, reduceRange: request.reduceRange },
        request.calibration,
        webBackend,
        (done, total) => scope.postMessage({ id, kind: 'progress', done, total, note: 'calibration samples' }),
      );
    case 'prune':
      return pruneVariant(request.model, request.ratio);
    case 'benchmark':
      return benchmarkVariants(
        request.candidates,
        {
          runs: request.runs,
          agreementSamples: request.agreementSamples,
          threads: setup!.numThreads,
          shapes: request.shapes,
        },
        await webBackend(),
        (done, total) => scope.postMessage({ id, kind: 'progress', done, total, note: 'timed runs' }),
      );
  }
}

scope.onmessage = (event) => {
  const data = event.data;
  if ('kind' in data) {
    setup = data;
    return;
  }
  handle(data.id, data.request).then(
    (result) => {
      const transfer = 'bytes' in result ? [result.bytes.buffer as ArrayBuffer] : [];
      scope.postMessage({ id: data.id, kind: 'done', result }, transfer);
    },
    (e: unknown) => {
      const error = e instanceof Error ? e : new Error(String(e));
      // The library's messages are one line; the first line of anything else keeps the page tidy.
      scope.postMessage({ id: data.id, kind: 'error', name: error.name, message: error.message.split('\n')[0] });
    },
  );
};
