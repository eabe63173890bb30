/**
 * Node-only entry point of @edgeml/core: model files on disk.
 * @module
 */
export { loadModel, saveModel, writeFileAtomic, folderExternalData, checkExternalLocation, modelTensors, type SaveOptions } from './onnx/model-file.js';
