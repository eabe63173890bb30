import {
  BackendError,
  Graph,
  Model,
  encodeModel,
  tensorType,
  type DType,
  type Dim,
  type EdgeMLError,
} from '@edgeml/core';

function finish(g: Graph, opset = 17): Uint8Array {
  return encodeModel(new Model(g, { opsetImports: new Map([['', opset]]), irVersion: 8 }));
}

/** sum = a + b and product = a * b over [batch, 3] float32: results the test can compute exactly. */
export function addMulModel(): Uint8Array {
  const g = new Graph('add_mul');
  const a = g.addInput('a', tensorType('float32', ['batch', 3]));
  const b = g.addInput('b', tensorType('float32', ['batch', 3]));
  const sum = g.op('Add', [a, b]).outputs[0];
  const product = g.op('Mul', [a, b]).outputs[0];
  sum.name = 'sum';
  product.name = 'product';
  sum.type = product.type = tensorType('float32', ['batch', 3]);
  g.outputs.push(sum, product);
  return finish(g);
}

/** y = Identity(x) for one element type: the bridge must carry it both ways bit for bit. */
export function identityModel(dtype: DType): Uint8Array {
  const g = new Graph(`identity_${dtype}`);
  const x = g.addInput('x', tensorType(dtype, [2, 3]));
  const y = g.op('Identity', [x]).outputs[0];
  y.name = 'y';
  y.type = tensorType(dtype, [2, 3]);
  g.outputs.push(y);
  return finish(g);
}

/**
 * The contract models of one file format, and what the contract expects of a backend that
 * runs that format. {@link ONNX_CONTRACT_MODELS} is the default; TFLite backends pass
 * {@link TFLITE_CONTRACT_MODELS}.
 */
export interface ContractModels {
  /** The format's name, in test titles. */
  format: string;
  /** File extension for the from-a-path case, with the dot. */
  extension: string;
  /** sum = a + b and product = a * b over float32 rows of 3 (exact answers). */
  addMul(): Uint8Array;
  /** y = x over [2, 3] for one element type. */
  identity(dtype: DType): Uint8Array;
  /** The shape a backend reports for add_mul's inputs. */
  addMulInputShape: readonly Dim[];
  /** Whether sessions are made from core's IR Model too; when not, createSession(Model) must refuse with an InvalidArgumentError. */
  takesIrModel: boolean;
  /** The error class for bytes that are not a model of this format. */
  invalidBytesError: new (...args: never[]) => EdgeMLError;
}

/** ONNX: what every onnxruntime backend runs. */
export const ONNX_CONTRACT_MODELS: ContractModels = {
  format: 'onnx',
  extension: '.onnx',
  addMul: addMulModel,
  identity: identityModel,
  addMulInputShape: ['batch', 3],
  takesIrModel: true,
  invalidBytesError: BackendError,
};
