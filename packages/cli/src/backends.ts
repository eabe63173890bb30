import { createRequire } from 'node:module';
import { InvalidArgumentError, type Backend } from '@edgeml/core';
import type { IsolationOptions } from '@edgeml/benchmark';
import { NodeBackend } from '@edgeml/runtime-node';
import { WebBackend } from '@edgeml/runtime-web';

/** A runtime the CLI can run models on, and how a child process builds the same one. */
export interface CliBackend {
  backend: Backend;
  isolation: IsolationOptions;
}

const require = createRequire(import.meta.url);

/** The backends `--backend` names. */
export const CLI_BACKENDS = ['node', 'web-wasm'] as const;

/**
 * Build the backend `--backend <name>` asks for. onnxruntime-web sizes its wasm thread pool
 * once per process, so `threads` is given to the backend itself, not per session.
 */
export function cliBackend(name: string, threads?: number): CliBackend {
  switch (name) {
    case 'node':
      return {
        backend: new NodeBackend(),
        isolation: { backendModule: require.resolve('@edgeml/runtime-node'), backendExport: 'NodeBackend' },
      };
    case 'web-wasm': {
      const options = threads ? { numThreads: threads } : {};
      return {
        backend: new WebBackend(options),
        isolation: {
          backendModule: require.resolve('@edgeml/runtime-web'),
          backendExport: 'WebBackend',
          backendOptions: options,
        },
      };
    }
    default:
      throw new InvalidArgumentError(`unknown backend '${name}'; choose one of ${CLI_BACKENDS.join(', ')}`, 'backend');
  }
}
