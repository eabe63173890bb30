import { Graph, Model, encodeModel, tensorType, type DType } from '@edgeml/core';

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
