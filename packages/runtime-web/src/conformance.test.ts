/** onnxruntime-web (wasm, in Node) through the shared backend conformance suite. */
import { ONNXRUNTIME_KNOWN_DISAGREEMENTS, describeBackendConformance } from '@edgeml/testing';
import { WebBackend } from './web-backend.js';

describeBackendConformance('onnxruntime-web', {
  backend: () => new WebBackend(),
  knownDisagreements: ONNXRUNTIME_KNOWN_DISAGREEMENTS,
});
