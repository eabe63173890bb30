/** `--backend` names resolve through core's registry, with onnxruntime-web's per-process thread pool kept. */
import { describe, expect, it } from 'vitest';
import { BackendError, InvalidArgumentError, backendRegistry, resolveBackend } from '@edgeml/core';
import { cliBackend, resolveCliBackend } from './backends.js';

describe('CLI backends', () => {
  it("are core's registry entries, created once and shared by every command", async () => {
    const node = await resolveCliBackend('node');
    expect(node.name).toBe('onnxruntime-node');
    expect(await resolveBackend('node')).toBe(node);
    expect(await resolveCliBackend('node')).toBe(node);
    expect(backendRegistry.names()).toEqual(['node', 'web-wasm', 'tflite']);
    await expect(resolveCliBackend('tpu')).rejects.toThrow(InvalidArgumentError);
  });

  it('start the wasm runtime with the threads asked for first, and refuse other counts later', async () => {
    const { backend, isolation } = await cliBackend('web-wasm', 1);
    expect(backend.name).toBe('onnxruntime-web');
    expect(isolation).toMatchObject({ backendExport: 'WebBackend', backendOptions: { numThreads: 1 } });
    expect(await resolveCliBackend('web-wasm', 1)).toBe(backend);
    expect(await resolveCliBackend('web-wasm')).toBe(backend);
    const err = await resolveCliBackend('web-wasm', 2).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect((err as Error).message).toMatch(
      /already started in this process with --threads 1 and cannot restart with --threads 2/,
    );
  });

  it('tell an isolated child a module and export that build the same backend', async () => {
    for (const name of ['node', 'web-wasm', 'tflite']) {
      const { backend, isolation } = await cliBackend(name);
      const module = (await import(isolation.backendModule)) as Record<string, unknown>;
      expect(typeof module[isolation.backendExport], name).toBe('function');
      expect(backend.constructor.name, name).toBe(isolation.backendExport);
    }
  });
});
