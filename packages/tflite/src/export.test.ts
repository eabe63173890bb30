/**
 * The written file as a flatbuffer reader sees it (schema rules and the layout pass), and the
 * exporter's refusals. Whether the files compute the right thing is judged by TFLite's own
 * interpreter against onnxruntime in tests/tflite-export.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError, ShapeError, UnsupportedOpError, encodeModel } from '@edgeml/core';
import { exportTflite } from './export.js';
import { ModelBuilder, mobileCnn } from './testing/models.js';
import { opSequence, readTflite } from './testing/read-tflite.js';

describe('the .tflite flatbuffer', () => {
  it('keeps the schema rules: TFL3, version 3, empty buffer 0, builtin codes, no custom options', async () => {
    const { bytes } = await exportTflite(mobileCnn());
    const file = readTflite(bytes);
    expect(file.identifier).toBe('TFL3');
    expect(file.version).toBe(3);
    expect(file.bufferSizes[0]).toBe(0);
    for (const code of file.operatorCodes) {
      expect(code.builtinCode).toBeGreaterThanOrEqual(0);
      expect(code.deprecatedBuiltinCode).toBe(Math.min(code.builtinCode, 127));
    }
    expect(file.operators.every((op) => !op.customOptions)).toBe(true);
    // Every constant's buffer holds exactly its bytes; computed tensors point at buffer 0.
    for (const t of file.tensors) {
      if (t.buffer === 0) continue;
      const elementBytes = { 0: 4, 2: 4, 4: 8 }[t.type as 0 | 2 | 4];
      expect(file.bufferSizes[t.buffer]).toBe(t.shape.reduce((a, b) => a * b, 1) * elementBytes);
    }
    expect(file.signatureInputs).toEqual(['x']);
    expect(file.signatureOutputs).toEqual(['out0']);
    expect(file.inputs.map((i) => file.tensors[i].name)).toEqual(['x']);
    expect(file.outputs.map((i) => file.tensors[i].name)).toEqual(['out0']);
  });

  it('lowers a CNN to NHWC with no transpose inside: one at the NCHW input, none with ioLayout nhwc', async () => {
    const nchw = await exportTflite(mobileCnn());
    const ops = opSequence(readTflite(nchw.bytes));
    expect(ops.filter((op) => op === 'TRANSPOSE')).toHaveLength(1);
    expect(ops[0]).toBe('TRANSPOSE');
    expect(nchw.report.transposes).toBe(1);
    expect(readTflite(nchw.bytes).tensors[readTflite(nchw.bytes).inputs[0]].shape).toEqual([1, 3, 16, 16]);
    const nhwc = await exportTflite(mobileCnn(), { ioLayout: 'nhwc' });
    const file = readTflite(nhwc.bytes);
    expect(opSequence(file)).not.toContain('TRANSPOSE');
    expect(file.tensors[file.inputs[0]].shape).toEqual([1, 16, 16, 3]);
    expect(nhwc.report.inputs[0]).toMatchObject({ name: 'x', shape: [1, 16, 16, 3], layout: 'nhwc' });
  });

  it('writes depthwise, grouped and padded convolutions, and fuses Relu/Relu6 into the op before', async () => {
    const { report, bytes } = await exportTflite(mobileCnn());
    expect(report.opCounts).toMatchObject({ DEPTHWISE_CONV_2D: 1, SPLIT: 1, CONCATENATION: 1, PAD: 1 });
    // Conv+BN+Relu, the last Conv+Relu and the grouped pair: four CONV_2D, no RELU/RELU6 operator left.
    expect(report.opCounts.CONV_2D).toBe(4);
    expect(report.opCounts.RELU).toBeUndefined();
    expect(report.opCounts.RELU6).toBeUndefined();
    expect(report.lowered['Relu fused into Conv']).toBe(2);
    expect(report.lowered['Clip fused into Conv']).toBe(1);
    expect(report.prepared['batchnorm-folding']).toBe(1);
    expect(report.sizeBytes).toBe(bytes.byteLength);
  });

  it('stores float constants as float16 behind DEQUANTIZE with quantize fp16', async () => {
    const float = await exportTflite(mobileCnn());
    const half = await exportTflite(mobileCnn(), { quantize: 'fp16' });
    const file = readTflite(half.bytes);
    const dequantized = file.operators.filter((op) => file.operatorCodes[op.opcodeIndex].builtinCode === 6);
    expect(dequantized.length).toBe(half.report.float16Weights);
    expect(half.report.float16Weights).toBeGreaterThan(10);
    for (const op of dequantized) {
      expect(file.tensors[op.inputs[0]].type).toBe(1); // FLOAT16
      expect(file.tensors[op.outputs[0]].type).toBe(0); // FLOAT32
    }
    expect(half.bytes.byteLength).toBeLessThan(float.bytes.byteLength * 0.75);
  });

  it('stores large conv and fully-connected weights as per-channel symmetric int8 with quantize dynamic', async () => {
    const { bytes, report } = await exportTflite(mobileCnn(), { quantize: 'dynamic' });
    const file = readTflite(bytes);
    const int8 = file.tensors.filter((t) => t.type === 9);
    // Only the 12×3×3×16 conv reaches TFLiteConverter's 1024-element threshold.
    expect(int8.map((t) => t.shape)).toEqual([[12, 3, 3, 16]]);
    expect(report.int8Weights).toBe(1);
    expect(int8[0].quantization).toEqual({
      scale: expect.any(Array),
      zeroPoint: new Array<number>(12).fill(0),
      dimension: 0,
    });
    expect(int8[0].quantization!.scale).toHaveLength(12);
    expect(file.bufferSizes[int8[0].buffer]).toBe(12 * 9 * 16);
  });

  it('leaves the input model as it was', async () => {
    const model = mobileCnn();
    const before = encodeModel(model);
    await exportTflite(model, { ioLayout: 'nhwc', quantize: 'fp16' });
    expect(encodeModel(model)).toEqual(before);
  });
});

describe('what the exporter refuses', () => {
  it('an op TFLite cannot express is an UnsupportedOpError naming op and node', async () => {
    const b = new ModelBuilder();
    const x = b.input('x', [1, 4]);
    const model = b.model([b.op('Hardmax', [x])]);
    const error = await exportTflite(model).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnsupportedOpError);
    expect(error).toMatchObject({ opType: 'Hardmax', nodeName: 'hardmax0' });
    expect((error as Error).message).toContain("node 'hardmax0' (Hardmax)");
  });

  it('a case of a supported op that TFLite cannot express is refused too (cubic resize)', async () => {
    const b = new ModelBuilder();
    const x = b.input('x', [1, 1, 4, 4]);
    const y = b.op('Resize', [x, undefined, b.constant([4], [1, 1, 2, 2])], { mode: 'cubic' });
    const error = await exportTflite(b.model([y])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnsupportedOpError);
    expect((error as Error).message).toMatch(/mode 'cubic'/);
  });

  it('dynamic dimensions need shapes: a ShapeError saying so, then the export works with them', async () => {
    const b = new ModelBuilder();
    const x = b.input('x', ['batch', 3, 8, 8]);
    const model = b.model([b.op('Relu', [b.conv(x, 3, 4, 3)])]);
    const error = await exportTflite(model).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ShapeError);
    expect((error as Error).message).toMatch(/--shape/);
    const { report } = await exportTflite(model, { shapes: { x: [2, 3, 8, 8] } });
    expect(report.inputs[0].shape).toEqual([2, 3, 8, 8]);
  });

  it('bad options are InvalidArgumentErrors naming the option', async () => {
    await expect(exportTflite(mobileCnn(), { quantize: 'int4' as never })).rejects.toThrow(InvalidArgumentError);
    await expect(exportTflite(mobileCnn(), { ioLayout: 'chw' as never })).rejects.toMatchObject({ option: 'ioLayout' });
  });
});
