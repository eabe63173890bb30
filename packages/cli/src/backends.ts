import { createRequire } from 'node:module';
import { BackendError, InvalidArgumentError, registerBackend, resolveBackend, type Backend } from '@edgeml/core';
import type { IsolationOptions } from '@edgeml/benchmark';
import { NodeBackend } from '@edgeml/runtime-node';
import { WebBackend, type WebBackendOptions } from '@edgeml/runtime-web';
import { registerTfliteBackend } from '@edgeml/runtime-tflite';

/** A runtime the CLI can run models on, and how a child process builds the same one. */
export interface CliBackend {
  backend: Backend;
  isolation: IsolationOptions;
}

const require = createRequire(import.meta.url);

/** The backends `--backend` names, as registered in core's registry (highest priority first). */
export const CLI_BACKENDS = ['node', 'web-wasm'] as const;
export type CliBackendName = (typeof CLI_BACKENDS)[number];

/**
 * onnxruntime-web sizes its wasm thread pool once per process, so the thread count belongs to
 * the backend the registry creates, not to a session: asked for before it is created, kept after.
 */
let wasmThreadsWanted: number | undefined;
let wasmCreatedWith: WebBackendOptions | undefined;

const wasmOptions = (threads: number | undefined): WebBackendOptions => (threads ? { numThreads: threads } : {});

let registered = false;

/** The CLI's backends in core's process-wide registry, registered on first use. */
function registerCliBackends(): void {
  if (registered) return;
  registered = true;
  registerBackend('node', () => new NodeBackend(), 100);
  registerBackend(
    'web-wasm',
    () => {
      wasmCreatedWith = wasmOptions(wasmThreadsWanted);
      return new WebBackend(wasmCreatedWith);
    },
    50,
  );
}

function checkName(name: string): asserts name is CliBackendName {
  if (!(CLI_BACKENDS as readonly string[]).includes(name))
    throw new InvalidArgumentError(`unknown backend '${name}'; choose one of ${CLI_BACKENDS.join(', ')}`, 'backend');
}

/**
 * The initialised backend `--backend <name>` names, from core's registry. `threads` sizes
 * onnxruntime-web's wasm pool (the node backend takes threads per session instead).
 */
export async function resolveCliBackend(name: string, threads?: number): Promise<Backend> {
  checkName(name);
  registerCliBackends();
  if (name === 'web-wasm' && threads) {
    if (wasmCreatedWith && wasmCreatedWith.numThreads !== threads)
      throw new BackendError(
        `onnxruntime-web's wasm runtime already started in this process with ${wasmCreatedWith.numThreads ? `--threads ${wasmCreatedWith.numThreads}` : 'its default thread count'} and cannot restart with --threads ${threads}; use one --threads value per process`,
        { backend: 'onnxruntime-web' },
      );
    wasmThreadsWanted = threads;
  }
  return resolveBackend(name);
}

/** The backend `--backend <name>` asks for, and how an isolated benchmark child builds the same one. */
export async function cliBackend(name: string, threads?: number): Promise<CliBackend> {
  const backend = await resolveCliBackend(name, threads);
  const isolation: IsolationOptions =
    name === 'node'
      ? { backendModule: require.resolve('@edgeml/runtime-node'), backendExport: 'NodeBackend' }
      : {
          backendModule: require.resolve('@edgeml/runtime-web'),
          backendExport: 'WebBackend',
          backendOptions: wasmOptions(threads),
        };
  return { backend, isolation };
}

let tfliteRegistered = false;

/** TFLite's own interpreter (wasm), registered as 'tflite' on first use: the judge of every .tflite the CLI writes. */
export async function resolveTfliteBackend(): Promise<Backend> {
  if (!tfliteRegistered) registerTfliteBackend();
  tfliteRegistered = true;
  return resolveBackend('tflite');
}
