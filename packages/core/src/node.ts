/**
 * Node-only entry point of @edgeml/core: model files on disk.
 * @module
 */
export {
  loadModel,
  saveModel,
  writeFileAtomic,
  folderExternalData,
  checkExternalLocation,
  type SaveOptions,
} from './onnx/model-file.js';
export { modelTensors } from './ir/model-tensors.js';
