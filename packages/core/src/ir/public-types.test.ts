/** Type tests for the generic public API (checked by tsc through vitest's expectTypeOf). */
import { describe, expectTypeOf, it } from 'vitest';
import { Tensor } from '../tensor/tensor.js';
import { Node } from './node.js';
import { opAttributes } from '../ops/op-schema.js';

describe('public generic types', () => {
  it("Tensor.from keeps its dtype, and data is the dtype's storage array", () => {
    const f = Tensor.from('float32', [1], [1]);
    expectTypeOf(f.data).toEqualTypeOf<Float32Array>();
    expectTypeOf(Tensor.from('int64', [1], [1n]).data).toEqualTypeOf<BigInt64Array>();
    expectTypeOf(Tensor.from('string', [1], ['a']).data).toEqualTypeOf<string[]>();
    expectTypeOf(Tensor.from('float16', [1], [0]).data).toEqualTypeOf<Uint16Array>();
  });

  it('Node.attr returns the kind asked for', () => {
    const n = new Node({ opType: 'Conv' });
    expectTypeOf(n.attr('group', 'int', 1)).toEqualTypeOf<number>();
    expectTypeOf(n.attr('pads', 'ints')).toEqualTypeOf<number[] | undefined>();
  });

  it('opAttributes is typed from the op table', () => {
    const a = opAttributes(new Node({ opType: 'Conv' }), 'Conv');
    expectTypeOf(a.strides).toEqualTypeOf<number[] | undefined>();
    expectTypeOf(a.auto_pad).toEqualTypeOf<string | undefined>();
    // @ts-expect-error Conv has no 'alpha' attribute
    void a.alpha;
  });
});
