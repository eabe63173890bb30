/**
 * @edgeml/testing (private): the backend conformance suite every Backend runs, the ONNX backend
 * test data (tolerance checks live in @edgeml/core's fidelity module).
 * @module
 */
export { describeBackendConformance, conformanceCases, type ConformanceOptions } from './conformance.js';
export { runBackendCase, type BackendCase, type CaseOutcome } from './backend-case.js';
export { listCases, TESTDATA_ROOT, SUITES, type TestCase } from './testdata.js';
export { addMulModel, identityModel, ONNX_CONTRACT_MODELS, type ContractModels } from './contract-models.js';
export { addMulTflite, identityTflite, TFLITE_CONTRACT_MODELS } from './contract-models-tflite.js';
