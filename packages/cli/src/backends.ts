import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import { BackendError, InvalidArgumentError, registerBackend, resolveBackend, type Backend } from '@edgeml/core';
import type { IsolationOptions } from '@edgeml/benchmark';
import { NodeBackend } from '@edgeml/runtime-node';
import { WebBackend, type WebBackendOptions } from '@edgeml/runtime-web';
import { TfliteBackend, hasTfliteIdentifier } from '@edgeml/runtime-tflite';

/** A runtime the CLI can run models on, and how a child process builds the same one. */
export interface CliBackend {
  backend: Backend;
  isolation: IsolationOptions;
}

const require = createRequire(import.meta.url);

/** The backends `--backend` names, as registered in core's registry (highest priority first). */
export const CLI_BACKENDS = ['node', 'web-wasm', 'tflite'] as const;
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
  // Lowest: it runs .tflite files only, so it is never the default for an ONNX model.
  registerBackend('tflite', () => new TfliteBackend(), 10);
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
      : name === 'tflite'
        ? { backendModule: require.resolve('@edgeml/runtime-tflite'), backendExport: 'TfliteBackend' }
        : {
            backendModule: require.resolve('@edgeml/runtime-web'),
            backendExport: 'WebBackend',
            backendOptions: wasmOptions(threads),
          };
  return { backend, isolation };
}

/**
 * The backend a model file runs on: a .tflite file (by its "TFL3" file identifier, whatever its
 * name) on `tflite`, TFLite's own interpreter; an ONNX file on `onnxBackend` (what `--backend`
 * says). Asking for `tflite` for an ONNX file is refused here, with what to do instead.
 */
export async function cliBackendForFile(file: string, onnxBackend: string, threads?: number): Promise<CliBackend> {
  const head = new Uint8Array(8);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, head, 0, 8, 0);
  } finally {
    fs.closeSync(fd);
  }
  if (hasTfliteIdentifier(head)) return cliBackend('tflite', threads);
  if (onnxBackend === 'tflite')
    throw new InvalidArgumentError(
      `'${file}' is not a .tflite file (no "TFL3" identifier): the tflite backend runs .tflite files only; export the model first (edgeml export ${file} -o model.tflite) or pick --backend node or web-wasm`,
      'backend',
    );
  return cliBackend(onnxBackend, threads);
}
