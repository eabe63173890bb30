/**
 * The shared conformance suite on a backend that is not onnxruntime: core's constant
 * evaluator run node by node (tests/support/evaluator-backend.ts). What it has no kernel for
 * it refuses with UnsupportedOpError, which the suite counts as "cannot run"; what it runs
 * must match the ONNX backend test data's expected outputs.
 */
import { describeBackendConformance } from '@edgeml/testing';
import { EvaluatorBackend } from './support/evaluator-backend.js';

describeBackendConformance('edgeml-constant-evaluator', {
  backend: () => new EvaluatorBackend(),
  knownDisagreements: {},
  // Measured: 53 of the 334 sampled cases pass; 273 use an op it has no kernel for, 8 feed sequences.
  minimumPasses: 53,
});
