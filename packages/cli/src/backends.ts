import { createRequire } from 'node:module';
import { InvalidArgumentError, type Backend } from '@edgeml/core';
import type { IsolationOptions } from '@edgeml/benchmark';
import { NodeBackend } from '@edgeml/runtime-node';

/** A runtime the CLI can run models on, and how a child process builds the same one. */
export interface CliBackend {
  backend: Backend;
  isolation: IsolationOptions;
}

const require = createRequire(import.meta.url);

/** The backends `--backend` names. */
export const CLI_BACKENDS = ['node'] as const;

/** Build the backend `--backend <name>` asks for. */
export function cliBackend(name: string): CliBackend {
  switch (name) {
    case 'node':
      return { backend: new NodeBackend(), isolation: { backendModule: require.resolve('@edgeml/runtime-node'), backendExport: 'NodeBackend' } };
    default:
      throw new InvalidArgumentError(`unknown backend '${name}'; choose one of ${CLI_BACKENDS.join(', ')}`, 'backend');
  }
}
