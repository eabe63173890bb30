import { BackendError, InvalidArgumentError } from '../errors.js';
import type { Backend } from './contract.js';

/** Creates a backend on first use (so registering costs nothing until it is needed). */
export type BackendFactory = () => Backend | Promise<Backend>;

interface Entry {
  factory: BackendFactory;
  priority: number;
  order: number;
  /** The initialised backend, or the failure, once resolved. */
  ready?: Promise<Backend>;
}

/**
 * Backends by name with priorities, created and initialised lazily. The one registry in
 * EdgeML holding global state, by design (runtime registries in the JavaScript ML libraries,
 * tfjs's among them, work this way). Registration is explicit: no package registers on import.
 *
 * @example
 * ```ts
 * registerBackend('native', () => new NativeBackend(), 100); // any Backend implementation
 * registerBackend('wasm', () => new WasmBackend(), 50);
 * const backend = await resolveBackend();                    // highest priority that initialises
 * const wasm = await resolveBackend(['wasm', 'native']);     // preference order
 * ```
 */
export class BackendRegistry {
  private readonly entries = new Map<string, Entry>();
  private counter = 0;

  /** Register (or replace) a backend. Higher priority wins when no preference is given. */
  register(name: string, factory: BackendFactory, priority = 0): void {
    if (!name) throw new InvalidArgumentError('a backend needs a non-empty name', 'name');
    if (typeof factory !== 'function')
      throw new InvalidArgumentError(`backend '${name}': factory must be a function returning a Backend`, 'factory');
    if (!Number.isFinite(priority))
      throw new InvalidArgumentError(`backend '${name}': priority must be a finite number`, 'priority');
    this.entries.set(name, { factory, priority, order: this.counter++ });
  }

  unregister(name: string): boolean {
    return this.entries.delete(name);
  }

  /** Registered names, highest priority first (ties: first registered first). */
  names(): string[] {
    return [...this.entries].sort(([, a], [, b]) => b.priority - a.priority || a.order - b.order).map(([n]) => n);
  }

  has(name: string): boolean {
    return this.entries.has(name);
  }

  /**
   * The first backend, in preference order (default: by priority), that creates and
   * initialises. Failures are remembered (a broken backend is not retried). If none
   * works, one BackendError lists every backend tried and why it failed.
   */
  async resolve(preference?: string | readonly string[]): Promise<Backend> {
    const wanted =
      preference === undefined ? this.names() : typeof preference === 'string' ? [preference] : [...preference];
    if (wanted.length === 0)
      throw new BackendError(
        this.entries.size
          ? 'no backend requested (empty preference list)'
          : 'no backend is registered; register one first with registerBackend(name, () => backend) (each EdgeML runtime package exports a Backend to register)',
      );
    const failures: string[] = [];
    for (const name of wanted) {
      const entry = this.entries.get(name);
      if (!entry) {
        failures.push(`${name}: not registered (registered: ${this.names().join(', ') || 'none'})`);
        continue;
      }
      entry.ready ??= (async () => {
        const backend = await entry.factory();
        await backend.init();
        return backend;
      })();
      try {
        return await entry.ready;
      } catch (e) {
        failures.push(`${name}: ${(e as Error)?.message ?? String(e)}`);
      }
    }
    throw new BackendError(`no backend could be initialised:\n  ${failures.join('\n  ')}`);
  }
}

/** The process-wide registry. */
export const backendRegistry = new BackendRegistry();

/** Register a backend in the process-wide registry. */
export function registerBackend(name: string, factory: BackendFactory, priority = 0): void {
  backendRegistry.register(name, factory, priority);
}

/** Resolve a backend from the process-wide registry (see {@link BackendRegistry.resolve}). */
export function resolveBackend(preference?: string | readonly string[]): Promise<Backend> {
  return backendRegistry.resolve(preference);
}
