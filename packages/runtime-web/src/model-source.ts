import { BackendError, InvalidArgumentError, Model, modelByteEstimate, encodeModel } from '@edgeml/core';

/** Node (or Deno/Bun with Node APIs), not a browser page or worker. */
export const isNode = typeof process !== 'undefined' && !!process.versions?.node && !('document' in globalThis);

function tooLarge(what: string, bytes: number, limit: number): BackendError {
  return new BackendError(
    `${what} is ${(bytes / 2 ** 30).toFixed(2)} GiB; onnxruntime-web takes at most ${(limit / 2 ** 30).toFixed(2)} GiB (protobuf's 2 GiB limit, and a 4 GiB WebAssembly heap that holds the model bytes and its weights). Run it on a native runtime such as onnxruntime-node, which reads larger models with external data`,
    { backend: 'onnxruntime-web' },
  );
}

/**
 * ONNX bytes from a Model, bytes, a URL (fetched) or, in Node, a file path. Sizes are checked
 * before anything large is read or allocated.
 */
export async function readModelSource(model: Model | Uint8Array | string, limit: number): Promise<Uint8Array> {
  if (model instanceof Uint8Array) {
    if (model.byteLength > limit) throw tooLarge('the model', model.byteLength, limit);
    return model;
  }
  if (model instanceof Model) {
    const estimate = modelByteEstimate(model);
    if (estimate > limit) throw tooLarge('the model', estimate, limit);
    return encodeModel(model, { placeTensor: () => 'inline' });
  }
  if (typeof model !== 'string')
    throw new InvalidArgumentError('createSession takes a Model, ONNX bytes, a URL, or (in Node) a file path', 'model');
  if (isNode && !/^(https?|data|blob):/.test(model)) {
    const fs = await import('node:fs');
    const { fileURLToPath } = await import('node:url');
    const file = model.startsWith('file:') ? fileURLToPath(model) : model;
    let size: number;
    try {
      size = fs.statSync(file).size;
    } catch {
      throw new InvalidArgumentError(`model file '${model}' does not exist`, 'model');
    }
    if (size > limit) throw tooLarge(`model file '${model}'`, size, limit);
    return new Uint8Array(await fs.promises.readFile(file));
  }
  let response: Response;
  try {
    response = await fetch(model);
  } catch (e) {
    throw new BackendError(`could not fetch model '${model}': ${(e as Error).message}`, {
      backend: 'onnxruntime-web',
      cause: e,
    });
  }
  if (!response.ok)
    throw new BackendError(`could not fetch model '${model}': HTTP ${response.status} ${response.statusText}`, {
      backend: 'onnxruntime-web',
    });
  const length = Number(response.headers.get('content-length') ?? 0);
  if (length > limit) throw tooLarge(`model '${model}'`, length, limit);
  return new Uint8Array(await response.arrayBuffer());
}
