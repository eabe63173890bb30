/** onnxruntime-node through the shared backend conformance suite. */
import { ONNXRUNTIME_KNOWN_DISAGREEMENTS, describeBackendConformance } from '@edgeml/testing';
import { NodeBackend } from './node-backend.js';

describeBackendConformance('onnxruntime-node', {
  backend: () => new NodeBackend(),
  knownDisagreements: ONNXRUNTIME_KNOWN_DISAGREEMENTS,
});
