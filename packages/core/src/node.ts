/**
 * `@edgeml/core/node`: model files on disk, for Node. {@link loadModel} reads a model and its
 * external data lazily, and only from inside the model's folder; {@link saveModel} writes
 * atomically (temporary file, fsync, rename), with large initializers in an external data
 * file when asked — needed past protobuf's 2 GiB.
 *
 * ```ts
 * import { modelStats } from '@edgeml/core';
 * import { loadModel, saveModel } from '@edgeml/core/node';
 *
 * const model = await loadModel('model.onnx');
 * console.log(modelStats(model).parameters);
 * await saveModel('model.copy.onnx', model, { externalData: { location: 'model.copy.onnx.data', threshold: 1024 } });
 * ```
 *
 * Guide: [read, edit and write a model](../../../docs/guide.md#read-edit-and-write-a-model).
 * @module
 */
export {
  loadModel,
  saveModel,
  writeFileAtomic,
  folderExternalData,
  checkExternalLocation,
  type SaveOptions,
  type LoadModelOptions,
} from './onnx/model-file.js';
export { modelTensors } from './ir/model-tensors.js';
export { loadNpyFolder } from './data/npy-folder.js';
export { loadSampleFolder, type ImageSampleOptions } from './data/sample-folder.js';
export { IMAGE_FILE, imageTensor, isImageFolder, type ImagePreprocess } from './data/images.js';
