import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, Tensor, tensorType, type Session, type ValueInfo } from '@edgeml/core';
import { matchIo } from './io-match.js';

/** Only the declared inputs and outputs matter to matchIo. */
const declared = (inputs: ValueInfo[], outputs: ValueInfo[]) => ({ inputs, outputs }) as unknown as Session;
const info = (name: string, shape: (number | string)[], dtype: 'float32' | 'int8' = 'float32'): ValueInfo => ({
  name,
  type: tensorType(dtype, shape),
});

describe('matchIo', () => {
  it('passes feeds and outputs through when the names agree', () => {
    const s = declared([info('x', [1, 3])], [info('y', [1, 3])]);
    const match = matchIo(s, s, 'same');
    const feeds = { x: Tensor.from('float32', [1, 3], [1, 2, 3]) };
    expect(match.feeds(feeds)).toBe(feeds);
    expect(match.byPosition).toBeUndefined();
  });

  it('renames by position when two converters named the same tensors differently', () => {
    const onnx = declared([info('input_1', ['batch', 4])], [info('probs', ['batch', 2])]);
    const tflite = declared([info('serving_default_input_1:0', [1, 4])], [info('Identity:0', [1, 2])]);
    const match = matchIo(onnx, tflite, 'model.tflite');
    const x = Tensor.from('float32', [1, 4], [1, 2, 3, 4]);
    expect(match.feeds({ input_1: x })).toEqual({ 'serving_default_input_1:0': x });
    const y = Tensor.from('float32', [1, 2], [0.5, 0.5]);
    expect(match.outputs({ 'Identity:0': y })).toEqual({ probs: y });
    expect(match.byPosition).toEqual({
      inputs: { input_1: 'serving_default_input_1:0' },
      outputs: { probs: 'Identity:0' },
    });
  });

  it('refuses, naming both lists, when neither names nor positions line up', () => {
    const a = declared([info('x', [1, 4])], [info('y', [1, 2])]);
    const dtype = declared([info('q', [1, 4], 'int8')], [info('y', [1, 2])]);
    const shape = declared([info('q', [1, 5])], [info('y', [1, 2])]);
    const count = declared([info('q', [1, 4]), info('r', [1])], [info('y', [1, 2])]);
    expect(() => matchIo(a, dtype, 'int8.tflite')).toThrow(/'x' and 'q' differ \(float32 vs int8\)/);
    expect(() => matchIo(a, shape, 'b.tflite')).toThrow(/shape \[1,4\] vs \[1,5\]/);
    expect(() => matchIo(a, count, 'c.tflite')).toThrow(InvalidArgumentError);
    expect(() => matchIo(a, count, 'c.tflite')).toThrow(
      /c\.tflite: its inputs \(q, r\) do not match the baseline's \(x\)/,
    );
  });
});
