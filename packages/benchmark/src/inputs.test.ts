import { describe, expect, it } from 'vitest';
import { EdgeMLError, Tensor, type ValueInfo } from '@edgeml/core';
import { makeFeeds, unsizedInputs } from './inputs.js';

const t = (name: string, dtype: 'float32' | 'int64' | 'float16', shape: (number | string | null)[]): ValueInfo => ({
  name,
  type: { kind: 'tensor', dtype, shape },
});
const SILERO_LIKE = [
  t('input', 'float32', ['batch', 'sequence']),
  t('sr', 'int64', []),
  t('h', 'float32', [2, 'batch', 64]),
];

describe('makeFeeds', () => {
  it('sizes a symbolic dimension on every input that names it', () => {
    const feeds = makeFeeds(SILERO_LIKE, { shapes: { input: [3, 512] }, fills: { sr: 16000 } });
    expect(feeds.input.dims).toEqual([3, 512]);
    expect(feeds.h.dims).toEqual([2, 3, 64]);
    expect(feeds.sr.dims).toEqual([]);
    expect(feeds.sr.toNumbers()).toEqual([16000]);
  });

  it('is deterministic per seed and in the documented ranges', () => {
    const a = makeFeeds(SILERO_LIKE, { seed: 5 }),
      b = makeFeeds(SILERO_LIKE, { seed: 5 }),
      c = makeFeeds(SILERO_LIKE, { seed: 6 });
    expect(a.h.toNumbers()).toEqual(b.h.toNumbers());
    expect(a.h.toNumbers()).not.toEqual(c.h.toNumbers());
    expect(a.h.toNumbers().every((v) => v >= 0 && v < 1)).toBe(true);
    expect(a.sr.toNumbers().every((v) => Number.isInteger(v) && v >= 0 && v <= 9)).toBe(true);
  });

  it('writes float16 inputs as float16 bits of values in [0, 1)', () => {
    const { x } = makeFeeds([t('x', 'float16', [4])]);
    expect(x.toNumbers().every((v) => v >= 0 && v < 1)).toBe(true);
  });

  it('keeps real values as given and binds their dimensions', () => {
    const input = Tensor.from('float32', [2, 8], new Float32Array(16));
    const feeds = makeFeeds(SILERO_LIKE, { values: { input } });
    expect(feeds.input).toBe(input);
    expect(feeds.h.dims).toEqual([2, 2, 64]);
  });

  it('refuses unknown inputs, wrong ranks, fixed-size mismatches and conflicting symbols', () => {
    const err = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e as EdgeMLError;
      }
      throw new Error('no error');
    };
    expect(err(() => makeFeeds(SILERO_LIKE, { shapes: { audio: [1, 2] } })).message).toMatch(
      /no input 'audio'.*input, sr, h/,
    );
    expect(err(() => makeFeeds(SILERO_LIKE, { shapes: { input: [1, 2, 3] } })).message).toMatch(
      /\[1x2x3\] for input 'input' does not fit the model's shape \[batch, sequence\]/,
    );
    expect(err(() => makeFeeds(SILERO_LIKE, { shapes: { h: [2, 1, 32] } })).message).toMatch(
      /does not fit.*\[2, batch, 64\]/,
    );
    expect(err(() => makeFeeds(SILERO_LIKE, { shapes: { input: [1, 512], h: [2, 4, 64] } })).message).toMatch(
      /dimension 'batch' size 4.*already gave it 1/,
    );
    expect(err(() => makeFeeds(SILERO_LIKE, { shapes: { input: [1.5, 2] } })).code).toBe('E_INVALID_ARGUMENT');
  });

  it('names the inputs whose dynamic dimensions nobody sized', () => {
    expect(unsizedInputs(SILERO_LIKE)).toEqual(['input[batch, sequence]', 'h[2, batch, 64]']);
    expect(unsizedInputs(SILERO_LIKE, { shapes: { input: [1, 512] } })).toEqual([]);
  });
});
