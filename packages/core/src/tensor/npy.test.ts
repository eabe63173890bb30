/** .npy reading and writing, with NumPy itself as the oracle. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeNpy, encodeNpy } from './npy.js';
import { Tensor } from './tensor.js';
import { ModelFormatError } from '../errors.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-npy-'));
const py = (code: string) => {
  const r = spawnSync('/usr/bin/python3', ['-c', code], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return r.stdout;
};

describe('.npy', () => {
  it('reads what NumPy writes, for each supported dtype and shape', () => {
    py(`import numpy as np
for name, dt in [('f4','<f4'),('f8','<f8'),('f2','<f2'),('i1','i1'),('u1','u1'),('i8','<i8'),('b1','?'),('u4','<u4')]:
    a = (np.arange(24).reshape(2,3,4) * 7 % 11 - 3).astype(dt)
    np.save('${dir}/' + name + '.npy', a)
np.save('${dir}/scalar.npy', np.float32(2.5))
np.save('${dir}/empty.npy', np.zeros((0, 3), np.float32))`);
    for (const name of ['f4', 'f8', 'f2', 'i1', 'u1', 'i8', 'b1', 'u4']) {
      const t = decodeNpy(fs.readFileSync(path.join(dir, `${name}.npy`)));
      expect(t.dims).toEqual([2, 3, 4]);
      const expected = JSON.parse(
        py(`import numpy as np, json; print(json.dumps(np.load('${dir}/${name}.npy').astype(float).ravel().tolist()))`),
      );
      expect(t.toNumbers()).toEqual(expected);
    }
    expect(decodeNpy(fs.readFileSync(path.join(dir, 'scalar.npy'))).toNumbers()).toEqual([2.5]);
    expect(decodeNpy(fs.readFileSync(path.join(dir, 'empty.npy'))).dims).toEqual([0, 3]);
  });

  it('writes files NumPy reads back exactly', () => {
    const t = Tensor.from('float32', [2, 2], [1.5, -2, 3.25, 1e-7]);
    fs.writeFileSync(path.join(dir, 'ours.npy'), encodeNpy(t));
    expect(
      py(`import numpy as np; a = np.load('${dir}/ours.npy'); print(a.dtype, a.shape, a.ravel().tolist())`).trim(),
    ).toBe('float32 (2, 2) [1.5, -2.0, 3.25, 1.0000000116860974e-07]');
  });

  it('names the file in errors for truncated or foreign data', () => {
    const good = encodeNpy(Tensor.from('float32', [4], [1, 2, 3, 4]));
    expect(() => decodeNpy(good.subarray(0, good.length - 4), 'x.npy')).toThrow(
      /x\.npy: shape \(4,\) of <f4 needs 16 bytes of data, the file has 12/,
    );
    expect(() => decodeNpy(new TextEncoder().encode('hello world!'), 'y.npy')).toThrow(ModelFormatError);
  });
});
