/** A wasm folder without onnxruntime-web's files (its own file: the runtime starts once per process). */
import { describe, expect, it } from 'vitest';
import { BackendError } from '@edgeml/core';
import { WebBackend } from './web-backend.js';

describe('missing wasm files', () => {
  it('fail at init with where it looked and what to serve', async () => {
    const err = await new WebBackend({ wasmPaths: '/nonexistent/ort/' }).init().catch((e) => e);
    expect(err).toBeInstanceOf(BackendError);
    expect(err.message).toMatch(
      /could not start its wasm runtime \(files loaded from "\/nonexistent\/ort\/"\).*ort-wasm-simd-threaded\.mjs.*Serve onnxruntime-web's dist\/ort-wasm-\*\.wasm and \.mjs files there/,
    );
  });
});
