/** onnxruntime-node through the shared backend conformance suite. */
import { describeBackendConformance } from '@edgeml/testing';
import { ONNXRUNTIME_KNOWN_DISAGREEMENTS } from '@edgeml/runtime-ort';
import { NodeBackend } from './node-backend.js';

describeBackendConformance('onnxruntime-node', {
  backend: () => new NodeBackend(),
  knownDisagreements: ONNXRUNTIME_KNOWN_DISAGREEMENTS,
  executionProviders: { unknown: 'no-such-ep' },
});
