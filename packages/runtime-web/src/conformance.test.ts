/** onnxruntime-web (wasm, in Node) through the shared backend conformance suite. */
import { describeBackendConformance } from '@edgeml/testing';
import { ONNXRUNTIME_KNOWN_DISAGREEMENTS } from '@edgeml/runtime-ort';
import { WebBackend } from './web-backend.js';

describeBackendConformance('onnxruntime-web', {
  backend: () => new WebBackend(),
  knownDisagreements: ONNXRUNTIME_KNOWN_DISAGREEMENTS,
  executionProviders: { unknown: 'no-such-ep' },
});
