import * as v8 from 'node:v8';
import * as vm from 'node:vm';

let collector: (() => void) | null | undefined;

/**
 * A full V8 collection, when the process allows one. Before onnxruntime maps a large model,
 * buffers the previous phases dropped (encoded models, weights read for a pass) may still be
 * waiting for V8's next major collection, and would sit in the peak beside the new session:
 * on a 96 MiB model that garbage was ~30 MiB of the command's peak RSS.
 *
 * Node exposes `gc` only under `--expose-gc`; the flag can be set at run time for new contexts,
 * and the function of one such context collects the whole isolate. The flag is unset again
 * at once, so contexts the application makes later are unaffected.
 */
export function collectGarbage(): void {
  if (collector === undefined) collector = findCollector();
  collector?.();
}

function findCollector(): (() => void) | null {
  const global = (globalThis as { gc?: unknown }).gc;
  if (typeof global === 'function') return global as () => void;
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc: unknown = vm.runInNewContext('gc');
    return typeof gc === 'function' ? (gc as () => void) : null;
  } catch {
    return null;
  } finally {
    v8.setFlagsFromString('--no-expose-gc');
  }
}
