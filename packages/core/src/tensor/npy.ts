/**
 * NumPy .npy files (format versions 1–3), the usual way to hand tensors between Python
 * and EdgeML: calibration samples, benchmark inputs, expected outputs.
 */
import { InvalidArgumentError, ModelFormatError } from '../errors.js';
import { Tensor } from './tensor.js';
import { byteLengthOf, type DType } from './dtype.js';

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const DESCR: Record<string, DType> = {
  '<f4': 'float32',
  '<f8': 'float64',
  '<f2': 'float16',
  '|i1': 'int8',
  '|u1': 'uint8',
  '<i2': 'int16',
  '<u2': 'uint16',
  '<i4': 'int32',
  '<u4': 'uint32',
  '<i8': 'int64',
  '<u8': 'uint64',
  '|b1': 'bool',
  '<c8': 'complex64',
  '<c16': 'complex128',
};
const DESCR_OF = Object.fromEntries(Object.entries(DESCR).map(([k, v]) => [v, k])) as Partial<Record<DType, string>>;

/**
 * Read a .npy file's bytes into a Tensor (little-endian, C order). The tensor's data is
 * a view of `bytes` when aligned.
 *
 * @example
 * ```ts
 * const x = decodeNpy(fs.readFileSync('input.npy'));
 * ```
 */
export function decodeNpy(bytes: Uint8Array, file = '.npy data'): Tensor {
  const fail = (why: string): never => {
    throw new ModelFormatError(`${file}: ${why}`, { file });
  };
  if (bytes.length < 10 || MAGIC.some((b, i) => bytes[i] !== b)) fail('not a NumPy .npy file (bad magic bytes)');
  const major = bytes[6];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const headerLen = major === 1 ? view.getUint16(8, true) : view.getUint32(8, true);
  const start = major === 1 ? 10 : 12;
  if (start + headerLen > bytes.length) fail('header runs past the end of the file');
  const header = new TextDecoder(major === 3 ? 'utf-8' : 'latin1').decode(bytes.subarray(start, start + headerLen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeText === undefined) fail(`cannot parse the header: ${header.trim()}`);
  if (fortran === 'True') fail('Fortran-ordered arrays are not supported; save with np.ascontiguousarray');
  const dtype = DESCR[descr!] ?? fail(`dtype '${descr}' is not supported (little-endian numeric and bool only)`);
  const dims = shapeText!
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number);
  if (dims.some((d) => !Number.isSafeInteger(d) || d < 0)) fail(`invalid shape (${shapeText})`);
  const data = bytes.subarray(start + headerLen);
  const need = byteLengthOf(
    dtype,
    dims.reduce((a, b) => a * b, 1),
  );
  if (data.length < need)
    fail(`shape (${shapeText}) of ${descr} needs ${need} bytes of data, the file has ${data.length}`);
  return Tensor.fromBytes(dtype, dims, data.subarray(0, need));
}

/** Write a Tensor as .npy (version 1.0) bytes. */
export function encodeNpy(t: Tensor): Uint8Array {
  const descr = DESCR_OF[t.dtype];
  if (!descr) throw new InvalidArgumentError(`${t.dtype} tensors have no .npy form`, 'dtype');
  const shape = t.dims.length === 1 ? `(${t.dims[0]},)` : `(${t.dims.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shape}, }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  const out = new Uint8Array(10 + header.length + t.byteLength);
  out.set(MAGIC);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(t.bytes, 10 + header.length);
  return out;
}
