/**
 * Model files on disk (Node only; exported from '@edgeml/core/node'): safe lazy external
 * data, atomic writes, external-data output for large models.
 */
import { modelTensors } from '../ir/model-tensors.js';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { ExternalDataError, InvalidArgumentError, ModelFormatError } from '../errors.js';
import type { Model } from '../ir/model.js';
import { ReadBuffer, type Tensor } from '../tensor/tensor.js';
import { decodeModel, type DecodeOptions } from './decode.js';
import { encodeModelChunks } from './encode.js';
import type { ExternalDataRequest } from './tensor-proto.js';
import { SELF_LOCATION, readModelSkeleton } from './model-skeleton.js';

/**
 * A resolver that reads external data only from inside `baseDir`: absolute locations,
 * `..` segments and symbolic links leading out of the folder are refused with
 * ExternalDataError, as are ranges past the end of the file.
 */
export function folderExternalData(baseDir: string): (request: ExternalDataRequest) => Uint8Array {
  const root = fs.realpathSync(baseDir);
  return (req) => {
    const file = checkExternalLocation(root, req);
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const length = req.length ?? size - req.offset;
      if (req.offset > size || req.offset + length > size) {
        throw new ExternalDataError(
          `tensor '${req.tensorName}': external data '${req.location}' is ${size} bytes, but the model asks for bytes ${req.offset}..${req.offset + length}`,
          { tensorName: req.tensorName, location: req.location },
        );
      }
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const n = fs.readSync(fd, out, done, Math.min(length - done, 1 << 30), req.offset + done);
        if (n === 0) break;
        done += n;
      }
      return out;
    } finally {
      fs.closeSync(fd);
    }
  };
}

/** Resolve and vet an external-data location against the model's folder; returns the real file path. */
export function checkExternalLocation(root: string, req: Pick<ExternalDataRequest, 'location' | 'tensorName'>): string {
  const loc = req.location;
  const refuse = (why: string): never => {
    throw new ExternalDataError(
      `tensor '${req.tensorName}': external data location '${loc}' ${why}; external files must sit inside the model's folder (${root})`,
      { tensorName: req.tensorName, location: loc },
    );
  };
  if (loc === '' || loc.includes('\0')) refuse('is empty or malformed');
  if (path.isAbsolute(loc) || /^[a-zA-Z]:[\\/]/.test(loc) || loc.startsWith('\\')) refuse('is an absolute path');
  if (loc.split(/[\\/]/).includes('..')) refuse("contains '..'");
  const joined = path.join(root, loc);
  let real: string;
  try {
    real = fs.realpathSync(joined);
  } catch {
    throw new ExternalDataError(
      `tensor '${req.tensorName}': external data file '${loc}' not found next to the model (looked for ${joined})`,
      { tensorName: req.tensorName, location: loc },
    );
  }
  if (real !== root && !real.startsWith(root + path.sep)) refuse('leads outside the folder through a symbolic link');
  if (!fs.statSync(real).isFile()) refuse('is not a regular file');
  return real;
}

/** Options of {@link loadModel}. */
export interface LoadModelOptions extends Omit<DecodeOptions, 'file'> {
  /**
   * Tensors stored in the model file with at least this many bytes are not kept in memory:
   * each is read from the file when first used (and kept from then on), or only for the
   * moment by writers that stream (`Tensor.readBytes`, `saveModel`, file-backed sessions).
   * Off by default. The file is then never read whole: its structure is walked and those
   * weights' bytes are skipped, so loading costs the model without them. Quantizing a large
   * model this way holds each float weight only while it is converted. The file must not change while the model is in use: a changed size or
   * modification time is an error when a weight is read.
   */
  deferTensorBytes?: number;
}

/**
 * Read an ONNX model file. External data is read lazily from the model's folder; its
 * locations are checked now, so a bad path fails here rather than later.
 *
 * @example
 * ```ts
 * import { loadModel } from '@edgeml/core/node';
 * const model = await loadModel('model.onnx');
 * // Weights of 1 MiB or more stay on disk until a pass reads them.
 * const large = await loadModel('large.onnx', { deferTensorBytes: 2 ** 20 });
 * ```
 */
export async function loadModel(file: string, options: LoadModelOptions = {}): Promise<Model> {
  const { deferTensorBytes, ...decodeOptions } = options;
  if (deferTensorBytes !== undefined && !(deferTensorBytes >= 0))
    throw new InvalidArgumentError(
      `deferTensorBytes must be a byte count ≥ 0, got ${deferTensorBytes}`,
      'deferTensorBytes',
    );
  const dir = path.dirname(path.resolve(file));
  // Made on first use: the folder is only known to exist once the model file has been read.
  let folder: ((request: ExternalDataRequest) => Uint8Array) | undefined;
  const folderResolver =
    decodeOptions.externalData ?? ((r: ExternalDataRequest) => (folder ??= folderExternalData(dir))(r));
  const model =
    deferTensorBytes === undefined ? undefined : loadSkeleton(file, decodeOptions, folderResolver, deferTensorBytes);
  const decoded =
    model ?? decodeModel(await readModelFile(file), { ...decodeOptions, file, externalData: folderResolver });
  if (!decodeOptions.externalData) {
    const root = fs.realpathSync(dir);
    for (const t of modelTensors(decoded)) {
      const ext = t.externalData;
      if (ext) checkExternalLocation(root, { location: ext.location, tensorName: t.name });
    }
  }
  return decoded;
}

async function readModelFile(file: string): Promise<Uint8Array> {
  try {
    return await fs.promises.readFile(file);
  } catch (e) {
    throw cannotRead(file, e);
  }
}

function cannotRead(file: string, e: unknown): ModelFormatError {
  const code = (e as NodeJS.ErrnoException).code;
  return new ModelFormatError(
    `cannot read model file '${file}': ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : (e as Error).message}`,
    { file, cause: e },
  );
}

/**
 * Decode the model without reading its large weights (see model-skeleton.ts): they become
 * deferred tensors read from the file when used. Undefined when the file is not laid out as
 * the skeleton reader expects; the caller then decodes it whole.
 */
function loadSkeleton(
  file: string,
  decodeOptions: Omit<DecodeOptions, 'file'>,
  folderResolver: (request: ExternalDataRequest) => Uint8Array,
  minBytes: number,
): Model | undefined {
  let stat: fs.Stats;
  let skeleton: ReturnType<typeof readModelSkeleton>;
  try {
    stat = fs.statSync(file);
    if (stat.isDirectory()) throw Object.assign(new Error('is a folder'), { code: 'EISDIR' });
    skeleton = readModelSkeleton(file, minBytes);
  } catch (e) {
    throw cannotRead(file, e);
  }
  if (!skeleton) return undefined;
  const absolute = path.resolve(file);
  const readAt = fileReader(absolute, stat);
  const externalData = (request: ExternalDataRequest) =>
    request.location === SELF_LOCATION ? readAt(request.offset, request.length ?? 0)() : folderResolver(request);
  const model = decodeModel(skeleton.bytes, { ...decodeOptions, file, externalData });
  for (const t of modelTensors(model)) {
    const ext = t.externalData;
    if (ext?.location !== SELF_LOCATION) continue;
    const length = ext.length ?? 0;
    const need = t.dtype === 'string' ? NaN : t.byteLength;
    if (length !== need)
      throw new ModelFormatError(
        `tensor '${t.name}' in '${file}': ${t.dtype === 'string' ? 'string tensors cannot use raw_data' : `raw_data has ${length} bytes; shape [${t.dims}] of ${t.dtype} needs ${need}`}`,
        { file, byteOffset: ext.offset },
      );
    t.deferTo(readAt(ext.offset, length));
  }
  return model;
}

/** Reads a range of `file` when called, failing if the file changed since `stat`. */
function fileReader(file: string, stat: fs.Stats) {
  return (offset: number, length: number) => (into?: Uint8Array) => {
    const now = fs.statSync(file, { throwIfNoEntry: false });
    if (!now || now.size !== stat.size || now.mtimeMs !== stat.mtimeMs)
      throw new ModelFormatError(
        `model file '${file}' changed on disk while its weights were still being read from it; load it again`,
        { file },
      );
    const out = into ?? new Uint8Array(length);
    const fd = fs.openSync(file, 'r');
    try {
      for (let done = 0; done < length;) {
        const n = fs.readSync(fd, out, done, length - done, offset + done);
        if (n === 0) throw new ModelFormatError(`model file '${file}' ended early`, { file });
        done += n;
      }
    } finally {
      fs.closeSync(fd);
    }
    return out;
  };
}

export interface SaveOptions {
  /**
   * Write initializers of at least `threshold` bytes (default 1024) to one external file,
   * `location` (default `<model file name>.data`) beside the model. Needed past 2 GiB.
   */
  externalData?: { location?: string; threshold?: number; align?: number };
}

/** Write a file atomically: a temp file in the same folder, fsync, then rename. */
export async function writeFileAtomic(file: string, write: (fd: number) => void | Promise<void>): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  const fd = fs.openSync(tmp, 'w');
  try {
    await write(fd);
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, file);
  } catch (e) {
    try {
      fs.closeSync(fd);
    } catch {
      /* already closed */
    }
    fs.rmSync(tmp, { force: true });
    throw e;
  }
}

/** Write chunks in order with gathered writes (IOV_MAX-sized batches), finishing partial writes. */
function writeChunks(fd: number, chunks: Uint8Array[]): void {
  for (let i = 0; i < chunks.length; i += 1024) {
    const batch = chunks.slice(i, i + 1024).filter((c) => c.byteLength > 0);
    while (batch.length) {
      let written = fs.writevSync(fd, batch);
      while (batch.length && written >= batch[0].byteLength) {
        written -= batch[0].byteLength;
        batch.shift();
      }
      if (batch.length && written > 0) batch[0] = batch[0].subarray(written);
    }
  }
}

/**
 * Save a model atomically. Without `externalData`, every tensor is embedded (external
 * tensors are read in); with it, large initializers go to one data file written first,
 * also atomically, so a crash never leaves a model pointing at half-written data.
 *
 * @example
 * ```ts
 * await saveModel('out.onnx', model);
 * await saveModel('big.onnx', model, { externalData: { location: 'big.onnx.data' } });
 * ```
 */
export async function saveModel(file: string, model: Model, options: SaveOptions = {}): Promise<void> {
  const ext = options.externalData;
  if (!ext) {
    const chunks = encodeModelChunks(model, { placeTensor: () => 'inline' });
    await writeFileAtomic(file, (fd) => writeChunks(fd, chunks));
    return;
  }
  const location = ext.location ?? `${path.basename(file)}.data`;
  if (path.isAbsolute(location) || location.split(/[\\/]/).includes('..'))
    throw new InvalidArgumentError(
      `externalData.location '${location}' must be a file name inside the model's folder`,
      'externalData.location',
    );
  const threshold = ext.threshold ?? 1024;
  const align = ext.align ?? 64;
  const places = new Map<Tensor, { location: string; offset: number; length: number }>();
  let offset = 0;
  for (const g of model.graphs()) {
    for (const v of g.initializers.values()) {
      const t = v.const!;
      if (t.dtype === 'string' || t.byteLength < threshold || places.has(t)) continue;
      offset = Math.ceil(offset / align) * align;
      places.set(t, { location, offset, length: t.byteLength });
      offset += t.byteLength;
    }
  }
  const dataFile = path.join(path.dirname(path.resolve(file)), location);
  const buffer = new ReadBuffer();
  await writeFileAtomic(dataFile, (fd) => {
    for (const [t, p] of places) fs.writeSync(fd, t.readBytes(buffer), 0, t.byteLength, p.offset);
  });
  const chunks = encodeModelChunks(model, { placeTensor: (t) => places.get(t) ?? 'inline' });
  await writeFileAtomic(file, (fd) => writeChunks(fd, chunks));
}
