/**
 * "Every field survives a round trip": each test-data model and Silero VAD, decoded and
 * re-encoded, must parse (in the onnx Python package) to a message equal to the original's.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeModel, encodeModel } from '@edgeml/core';
import { listCases } from './support/testdata.js';
import { SILERO_VAD } from './support/models.js';
import { compareModels } from './support/proto-equal.js';

describe('lossless round trip', () => {
  it('re-encoded models equal the originals field by field', () => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-fidelity-'));
    const files = [...listCases().map((c) => [c.name, c.model]), ['silero_vad', SILERO_VAD]];
    const pairs: [string, string][] = files.map(([name, file]) => {
      const copy = path.join(tmp, `${name.replace(/\//g, '__')}.onnx`);
      fs.writeFileSync(copy, encodeModel(decodeModel(new Uint8Array(fs.readFileSync(file)))));
      return [file, copy];
    });
    const verdicts = compareModels(pairs);
    const differ = [...verdicts].filter(([, d]) => d !== null).map(([f, d]) => `${f}: ${d}`);
    console.log(`lossless round trip: ${pairs.length - differ.length}/${pairs.length} models field-for-field equal`);
    fs.rmSync(tmp, { recursive: true, force: true });
    expect(differ).toEqual([]);
  }, 300_000);
});
