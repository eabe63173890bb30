import { describe, expect, it } from 'vitest';
import { BackendRegistry } from './registry.js';
import { BackendError, InvalidArgumentError } from '../errors.js';
import type { Backend } from './contract.js';

/** A backend whose init succeeds or fails, counting how often it is created. */
function fake(name: string, fail?: string) {
  const stats = { created: 0, inits: 0 };
  const factory = () => {
    stats.created++;
    const b: Backend = {
      name,
      async init() {
        stats.inits++;
        if (fail) throw new Error(fail);
      },
      async createSession() {
        throw new Error('not used in these tests');
      },
    };
    return b;
  };
  return { factory, stats };
}

describe('BackendRegistry', () => {
  it('picks the highest priority, creating backends lazily and once', async () => {
    const r = new BackendRegistry();
    const low = fake('low'),
      high = fake('high');
    r.register('low', low.factory, 1);
    r.register('high', high.factory, 10);
    expect(low.stats.created + high.stats.created).toBe(0);
    expect((await r.resolve()).name).toBe('high');
    expect((await r.resolve()).name).toBe('high');
    expect(high.stats).toEqual({ created: 1, inits: 1 });
    expect(low.stats.created).toBe(0);
    expect(r.names()).toEqual(['high', 'low']);
  });

  it('falls back in preference order and remembers failures', async () => {
    const r = new BackendRegistry();
    const broken = fake('broken', 'no GPU here');
    const cpu = fake('cpu');
    r.register('broken', broken.factory, 100);
    r.register('cpu', cpu.factory, 0);
    expect((await r.resolve()).name).toBe('cpu');
    expect((await r.resolve(['broken', 'cpu'])).name).toBe('cpu');
    expect(broken.stats.created).toBe(1);
  });

  it('lists every failure in one error', async () => {
    const r = new BackendRegistry();
    r.register('a', fake('a', 'wasm file missing').factory);
    r.register('b', () => {
      throw new Error('native binding not found');
    });
    const err = await r.resolve(['a', 'b', 'c']).catch((e) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect(err.message).toContain('a: wasm file missing');
    expect(err.message).toContain('b: native binding not found');
    expect(err.message).toContain('c: not registered');
  });

  it('explains an empty registry and rejects bad registrations', async () => {
    const r = new BackendRegistry();
    await expect(r.resolve()).rejects.toThrow(/no backend is registered/);
    expect(() => r.register('', fake('x').factory)).toThrow(InvalidArgumentError);
    expect(() => r.register('x', fake('x').factory, Number.NaN)).toThrow(/priority/);
  });

  it('keeps registration order among equal priorities, and replaces by name', async () => {
    const r = new BackendRegistry();
    r.register('first', fake('first').factory, 5);
    r.register('second', fake('second').factory, 5);
    expect(r.names()).toEqual(['first', 'second']);
    r.register('first', fake('first-again').factory, 1);
    expect(r.names()).toEqual(['second', 'first']);
    expect(r.unregister('second')).toBe(true);
    expect((await r.resolve()).name).toBe('first-again');
  });
});
