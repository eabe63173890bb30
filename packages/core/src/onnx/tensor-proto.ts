/** TensorProto ↔ Tensor, keeping the storage form (raw_data or typed fields) a model used. */
import { ModelFormatError } from '../errors.js';
import { dtypeFromOnnx, dtypeInfo, dtypeToOnnx, storageLengthOf, type DType } from '../tensor/dtype.js';
import { Tensor, shapeSize } from '../tensor/tensor.js';
import type { ProtoMessage } from './schema.js';
import { decodeMessage, encodeMessage } from './proto-codec.js';
import { presentDefaults, restoreDefaults } from './presence.js';
import { TensorProtoDesc } from './schema.js';

/** Where an external tensor's bytes are, as the model says. */
export interface ExternalDataRequest {
  tensorName: string;
  location: string;
  offset: number;
  length?: number;
  checksum?: string;
}

/** Reads external tensor data; called lazily, on first access of the tensor's bytes. */
export type ExternalDataResolver = (request: ExternalDataRequest) => Uint8Array;

type M = ProtoMessage;

/** ONNX's packed-field conventions: which typed field carries each dtype when raw_data is not used. */
function typedField(
  dtype: DType,
): 'floatData' | 'doubleData' | 'int64Data' | 'uint64Data' | 'int32Data' | 'stringData' {
  switch (dtype) {
    case 'float32':
    case 'complex64':
      return 'floatData';
    case 'float64':
    case 'complex128':
      return 'doubleData';
    case 'int64':
      return 'int64Data';
    case 'uint32':
    case 'uint64':
      return 'uint64Data';
    case 'string':
      return 'stringData';
    default:
      return 'int32Data';
  }
}

export function tensorFromProto(
  tp: M,
  ctx: { options: { externalData?: ExternalDataResolver } },
  path: string,
): Tensor {
  const name = (tp.name as string | undefined) ?? '';
  const where = `tensor '${name}'`;
  const code = (tp.dataType as number | undefined) ?? 0;
  const dtype = dtypeFromOnnx(code);
  if (!dtype)
    throw new ModelFormatError(`${where} has data type ${code}, which is not an ONNX tensor type this version knows`, {
      fieldPath: `${path}.data_type`,
    });
  const dims = (tp.dims as number[] | undefined) ?? [];
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0)
      throw new ModelFormatError(`${where} has invalid dimension ${d} in [${dims.join(', ')}]`, {
        fieldPath: `${path}.dims`,
      });
  }
  if (tp.segment)
    throw new ModelFormatError(
      `${where} is a segment of a larger tensor (TensorProto.segment), which is not supported`,
      { fieldPath: `${path}.segment` },
    );
  const count = shapeSize(dims);
  if (!Number.isSafeInteger(count))
    throw new ModelFormatError(`${where} has shape [${dims.join(', ')}], more elements than any tensor can hold`, {
      fieldPath: `${path}.dims`,
    });
  let tensor: Tensor;
  if (tp.dataLocation === 1) {
    const info = new Map(((tp.externalData as M[] | undefined) ?? []).map((e) => [e.key as string, e.value as string]));
    const location = info.get('location');
    if (!location)
      throw new ModelFormatError(`${where} is marked external but has no 'location' entry`, {
        fieldPath: `${path}.external_data`,
      });
    const offset = Number(info.get('offset') ?? 0);
    const length = info.has('length') ? Number(info.get('length')) : undefined;
    if (
      !Number.isSafeInteger(offset) ||
      offset < 0 ||
      (length !== undefined && (!Number.isSafeInteger(length) || length < 0))
    ) {
      throw new ModelFormatError(
        `${where} has an invalid external offset/length (${info.get('offset')}/${info.get('length')})`,
        { fieldPath: `${path}.external_data` },
      );
    }
    const request = { tensorName: name, location, offset, length, checksum: info.get('checksum') };
    const resolver = ctx.options.externalData;
    tensor = Tensor.external(dtype, dims, {
      location,
      offset,
      length,
      checksum: request.checksum,
      load: resolver ? () => resolver(request) : undefined,
    });
  } else if (tp.rawData !== undefined) {
    if (dtype === 'string')
      throw new ModelFormatError(`${where}: string tensors cannot use raw_data`, { fieldPath: `${path}.raw_data` });
    const raw = tp.rawData as Uint8Array;
    const need = Math.ceil((count * dtypeInfo(dtype).bits) / 8);
    if (raw.byteLength !== need)
      throw new ModelFormatError(
        `${where} of shape [${dims.join(', ')}] ${dtype} needs ${need} bytes of raw_data, has ${raw.byteLength}`,
        { fieldPath: `${path}.raw_data` },
      );
    tensor = Tensor.fromBytes(dtype, dims, raw);
  } else {
    tensor = typedTensor(tp, dtype, dims, count, where, path);
  }
  tensor.name = name;
  tensor.docString = (tp.docString as string | undefined) ?? '';
  tensor.explicitDefaults = presentDefaults(tp, ['name', 'docString']);
  for (const e of (tp.metadataProps as M[] | undefined) ?? []) tensor.metadata.set(e.key as string, e.value as string);
  return tensor;
}

function typedTensor(tp: M, dtype: DType, dims: number[], count: number, where: string, path: string): Tensor {
  const field = typedField(dtype);
  const data = tp[field] as ArrayLike<number | bigint> | Uint8Array[] | undefined;
  const have = data?.length ?? 0;
  if (dtype === 'string') {
    if (have !== count)
      throw new ModelFormatError(`${where} of shape [${dims}] needs ${count} strings, has ${have}`, {
        fieldPath: `${path}.string_data`,
      });
    return Tensor.fromStringBytes(dims, (data as Uint8Array[] | undefined) ?? []);
  }
  const want = storageLengthOf(dtype, count);
  if (have !== want)
    throw new ModelFormatError(`${where} of shape [${dims}] ${dtype} needs ${want} values in ${field}, has ${have}`, {
      fieldPath: `${path}.${field}`,
    });
  let t: Tensor;
  if (field === 'int32Data' && dtype !== 'int32') {
    // Narrow types travel one element (or one packed byte) per int32.
    const Ctor = dtypeInfo(dtype).array!;
    const out = new Ctor(want);
    const src = data as Int32Array;
    for (let i = 0; i < want; i++) (out as Uint8Array)[i] = src[i];
    t = Tensor.from(dtype, dims, out);
  } else if (field === 'uint64Data' && dtype === 'uint32') {
    t = Tensor.from(
      dtype,
      dims,
      Uint32Array.from(data as BigUint64Array, (v) => Number(v)),
    );
  } else {
    t = Tensor.from(dtype, dims, (data ?? new (dtypeInfo(dtype).array!)(0)) as never);
  }
  t.storedAs = 'typed';
  return t;
}

/**
 * Tensor → TensorProto. External tensors keep their location unless `inline` is set; with
 * `header`, only the fields other than the data are filled (the caller places the data); with
 * `sizeOnly`, raw data is a stand-in of the right length, for sizing the proto without reading it.
 */
export function tensorToProto(t: Tensor, options: { inline?: boolean; header?: boolean; sizeOnly?: boolean } = {}): M {
  const p: M = { dims: [...t.dims], dataType: dtypeToOnnx(t.dtype) };
  if (t.name) p.name = t.name;
  if (t.docString) p.docString = t.docString;
  if (t.hasMetadata) p.metadataProps = [...t.metadata].map(([key, value]) => ({ key, value }));
  restoreDefaults(p, t, { name: '', docString: '' });
  if (options.header) return p;
  const ext = t.externalData;
  if (ext && !options.inline) {
    p.dataLocation = 1;
    const entries: M[] = [
      { key: 'location', value: ext.location },
      { key: 'offset', value: String(ext.offset) },
    ];
    if (ext.length !== undefined) entries.push({ key: 'length', value: String(ext.length) });
    if (ext.checksum) entries.push({ key: 'checksum', value: ext.checksum });
    p.externalData = entries;
    return p;
  }
  if (t.dtype === 'string') {
    p.stringData = t.stringBytes;
    return p;
  }
  if (t.storedAs === 'raw') {
    // Read, not kept: encoding a model whose weights wait on disk does not pull them all in for good.
    // Only byteLength of a bytes field is read when sizing.
    p.rawData = options.sizeOnly ? { byteLength: t.byteLength } : t.readBytes();
    return p;
  }
  const field = typedField(t.dtype);
  const data = t.data as ArrayLike<number | bigint>;
  if (field === 'int32Data' && t.dtype !== 'int32') p[field] = Int32Array.from(data as ArrayLike<number>);
  else if (field === 'uint64Data' && t.dtype === 'uint32')
    p[field] = BigUint64Array.from(data as Uint32Array, (v) => BigInt(v));
  else p[field] = data;
  return p;
}

/**
 * Decode a serialized TensorProto (the `.pb` files of ONNX test data, for example).
 *
 * @example
 * ```ts
 * const input = decodeTensor(fs.readFileSync('test_data_set_0/input_0.pb'));
 * ```
 */
export function decodeTensor(bytes: Uint8Array, options: { externalData?: ExternalDataResolver } = {}): Tensor {
  return tensorFromProto(decodeMessage(bytes, TensorProtoDesc), { options }, 'TensorProto');
}

/** Serialize a Tensor as a TensorProto. */
export function encodeTensor(tensor: Tensor): Uint8Array {
  return encodeMessage(tensorToProto(tensor, { inline: true }), TensorProtoDesc);
}
