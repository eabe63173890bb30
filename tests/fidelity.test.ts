/**
 * "Every field survives a round trip": each test-data model and Silero VAD, decoded and
 * re-encoded, must parse (in the onnx Python package) to a message equal to the original's;
 * so must a `Model.clone()` of each.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeModel, encodeModel, encodedSize, type Model } from '@edgeml/core';
import { listCases } from './support/testdata.js';
import { SILERO_VAD } from './support/models.js';
import { compareModels } from './support/proto-equal.js';

/** Write `transform(decoded model)` of every test-data model and Silero VAD; the onnx package compares each with its file. */
function roundTrip(label: string, transform: (m: Model) => Model): void {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'edgeml-fidelity-'));
  const files = [...listCases().map((c) => [c.name, c.model]), ['silero_vad', SILERO_VAD]];
  const pairs: [string, string][] = files.map(([name, file]) => {
    const copy = path.join(tmp, `${name.replace(/\//g, '__')}.onnx`);
    fs.writeFileSync(copy, encodeModel(transform(decodeModel(new Uint8Array(fs.readFileSync(file))))));
    return [file, copy];
  });
  const verdicts = compareModels(pairs);
  const differ = [...verdicts].filter(([, d]) => d !== null).map(([f, d]) => `${f}: ${d}`);
  console.log(`${label}: ${pairs.length - differ.length}/${pairs.length} models field-for-field equal`);
  fs.rmSync(tmp, { recursive: true, force: true });
  expect(differ).toEqual([]);
}

describe('lossless round trip', () => {
  it('re-encoded models equal the originals field by field', () => roundTrip('lossless round trip', (m) => m), 300_000);

  it('clones equal the originals field by field', () => roundTrip('Model.clone', (m) => m.clone()), 300_000);
});

describe('encodedSize', () => {
  it('is the byte length encodeModel writes, for every test-data model and Silero VAD', () => {
    const files = [...listCases().map((c) => c.model), SILERO_VAD];
    const wrong = files.filter((file) => {
      const model = decodeModel(new Uint8Array(fs.readFileSync(file)));
      return encodedSize(model) !== encodeModel(model).byteLength;
    });
    expect(files.length).toBeGreaterThan(1000);
    expect(wrong).toEqual([]);
  });
});
