import { BackendError, type Model } from '@edgeml/core';
import type { SkippedExecutionProvider } from './session-adapter.js';

/** How {@link createSessionWithFallback} tries a runtime's execution providers. */
export interface ExecutionProviderFallbackOptions<S> {
  /** The backend's name, for the error when no provider works (e.g. `onnxruntime-node`). */
  backend: string;
  /** The model, named in that error when it is a file path or URL. */
  model: Model | Uint8Array | string;
  /** Providers in order of preference (none: the last resort alone). */
  requested: readonly string[] | undefined;
  /** Providers this runtime offers here; the others are passed over without being tried. */
  available: readonly string[];
  /** Why a provider not in `available` is passed over, e.g. `not available in this build (available: cpu)`. */
  unavailableReason: string;
  /** The provider that runs whatever the model's ops allow (onnxruntime's cpu, or wasm on the web): always tried, last. */
  lastResort: string;
  /**
   * Give each attempt every remaining provider down to the last resort, so the runtime places
   * what the first cannot run on the next (onnxruntime-node), rather than one provider alone.
   */
  chain: boolean;
  /** Make the session on these providers, best first. */
  create(providers: string[]): Promise<S>;
  /**
   * A failure as the typed error that says what is wrong (a missing kernel, out of memory), or
   * undefined to report the runtime's message as it is. On the last resort such an error is
   * thrown at once: the model fails the same way on every provider.
   */
  explainFailure?(error: unknown): Error | undefined;
}

/** The session {@link createSessionWithFallback} made, and on what. */
export interface ExecutionProviderFallbackResult<S> {
  session: S;
  /** The providers the session was created with, best first. */
  executionProviders: string[];
  /** Providers asked for but passed over (unavailable, or failed to create the session), in the order asked, with why. */
  skippedExecutionProviders: SkippedExecutionProvider[];
}

const messageOf = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** Requested providers best first, without repeats, the last resort at the end. */
function candidateProviders(requested: readonly string[] | undefined, lastResort: string): string[] {
  return [...new Set([...(requested ?? []).filter((p) => p !== lastResort), lastResort])];
}

/**
 * Create a session on the best execution provider that works: providers this runtime does not
 * offer are passed over, a provider that fails to create the session is recorded with the
 * runtime's reason and the next one is tried, and the last resort ends the search. One
 * BackendError lists every provider and why it failed when none works.
 *
 * @example
 * ```ts
 * const { session, executionProviders, skippedExecutionProviders } = await createSessionWithFallback({
 *   backend: 'onnxruntime-node',
 *   model: 'model.onnx',
 *   requested: ['cuda', 'cpu'],
 *   available: ['cpu'],
 *   unavailableReason: 'not available in this build (available: cpu)',
 *   lastResort: 'cpu',
 *   chain: true,
 *   create: (providers) => ort.InferenceSession.create('model.onnx', { executionProviders: providers }),
 * });
 * // executionProviders: ['cpu']; skippedExecutionProviders: [{ name: 'cuda', reason: 'not available in this build ...' }]
 * ```
 */
export async function createSessionWithFallback<S>(
  options: ExecutionProviderFallbackOptions<S>,
): Promise<ExecutionProviderFallbackResult<S>> {
  const { available, lastResort } = options;
  const candidates = candidateProviders(options.requested, lastResort);
  const tryable = candidates.filter((p) => available.includes(p));
  const skipped: SkippedExecutionProvider[] = [];
  for (const provider of candidates) {
    if (!available.includes(provider)) {
      skipped.push({ name: provider, reason: options.unavailableReason });
      continue;
    }
    const providers = options.chain ? tryable.slice(tryable.indexOf(provider)) : [provider];
    try {
      const session = await options.create(providers);
      return { session, executionProviders: providers, skippedExecutionProviders: skipped };
    } catch (e) {
      const explained = options.explainFailure?.(e);
      if (explained && provider === lastResort) throw explained;
      skipped.push({ name: provider, reason: messageOf(explained ?? e) });
    }
  }
  const what = typeof options.model === 'string' ? `'${options.model}'` : 'the model';
  throw new BackendError(
    `${options.backend} could not create a session for ${what}:\n  ${skipped.map((s) => `${s.name}: ${s.reason}`).join('\n  ')}`,
    { backend: options.backend },
  );
}
