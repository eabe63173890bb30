/** The ONNX backend test data: one home, in the shared testing package. */
export * from '@edgeml/testing';
