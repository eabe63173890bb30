// Page side: one request at a time to the worker; cancelling terminates it and starts a fresh one
// (a quantization cannot be interrupted from inside, and the worker keeps no state to lose).
import type { StudioRequest, StudioResult, WorkerMessage, WorkerSetup } from './protocol.js';

/** A failure the worker reported: the library's error name and its one-line message. */
export class StudioError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

export class CancelledError extends Error {
  override name = 'CancelledError';
}

interface Pending {
  id: number;
  resolve(result: StudioResult): void;
  reject(error: Error): void;
  onProgress?: (done: number, total: number, note: string) => void;
}

export class StudioWorker {
  private worker: Worker;
  private nextId = 1;
  private pending: Pending | undefined;

  constructor(private readonly setup: WorkerSetup) {
    this.worker = this.spawn();
  }

  private spawn(): Worker {
    const worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'edgeml-studio' });
    worker.postMessage(this.setup);
    worker.onmessage = (event: MessageEvent<WorkerMessage>) => {
      const message = event.data;
      const pending = this.pending;
      if (!pending || pending.id !== message.id) return;
      if (message.kind === 'progress') return pending.onProgress?.(message.done, message.total, message.note);
      this.pending = undefined;
      if (message.kind === 'done') pending.resolve(message.result);
      else pending.reject(new StudioError(message.name, message.message));
    };
    // An uncaught failure (the worker's script did not load, say): say so instead of waiting forever.
    worker.onerror = (event) => {
      const pending = this.pending;
      this.pending = undefined;
      pending?.reject(new StudioError('Error', event.message || 'the studio worker failed to start'));
    };
    return worker;
  }

  get busy(): boolean {
    return this.pending !== undefined;
  }

  run<T extends StudioResult>(
    request: StudioRequest,
    onProgress?: (done: number, total: number, note: string) => void,
  ): Promise<T> {
    if (this.pending) return Promise.reject(new StudioError('Error', 'another step is still running'));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending = { id, resolve: resolve as (r: StudioResult) => void, reject, onProgress };
      this.worker.postMessage({ id, request });
    });
  }

  cancel(): void {
    const pending = this.pending;
    if (!pending) return;
    this.pending = undefined;
    this.worker.terminate();
    this.worker = this.spawn();
    pending.reject(new CancelledError('cancelled'));
  }
}
