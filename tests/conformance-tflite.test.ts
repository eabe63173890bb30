/**
 * @edgeml/runtime-tflite through the shared backend conformance suite: the contract on .tflite
 * contract models (exact answers), then the real .tflite case set, each judged by onnxruntime on
 * the ONNX twin or by LiteRT.js (tests/support/tflite-cases.ts).
 */
import { TfliteBackend } from '@edgeml/runtime-tflite';
import { TFLITE_CONTRACT_MODELS, describeBackendConformance } from '@edgeml/testing';
import { loadSuite } from './support/real-models.js';
import { SampleFactory } from './support/real-model-data.js';
import { tfliteCases } from './support/tflite-cases.js';

const WEB_API_LACKS = "TFLite's web API (tfjs-tflite 0.0.1-alpha.10) gives no view of this type's tensor data";

describeBackendConformance('tflite', {
  backend: () => new TfliteBackend(),
  models: TFLITE_CONTRACT_MODELS,
  unsupportedTypes: {
    float16: WEB_API_LACKS,
    uint16: WEB_API_LACKS,
    int64: WEB_API_LACKS,
    uint64: WEB_API_LACKS,
    string: 'TFLite packs strings in its own layout, which the web API does not expose',
  },
  cases: {
    name: 'real .tflite models (oracles: onnxruntime on the ONNX twin, LiteRT.js)',
    load: () => {
      const { files } = loadSuite();
      return tfliteCases(
        new SampleFactory({
          wavFile: files['lena-wav'],
          melspectrogramModel: files['oww-melspectrogram'],
          embeddingModel: files['oww-embedding'],
        }),
      );
    },
    minimumCount: 8,
  },
  // Every case with an oracle passes; the two refusals (a custom op, a dynamic input) are typed errors.
  minimumPasses: 6,
});
