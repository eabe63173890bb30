/**
 * Cases of the ONNX backend test data (Debian's libonnx-testdata) where onnxruntime, node and
 * web alike (they share kernels), disagrees with the expected outputs, each with the reason.
 * Both backends' conformance suites declare them, so that a new disagreement fails the suite
 * and a fixed one is noticed.
 *
 * @example
 * ```ts
 * describeBackendConformance('onnxruntime-node', {
 *   backend: () => new NodeBackend(),
 *   knownDisagreements: ONNXRUNTIME_KNOWN_DISAGREEMENTS,
 * });
 * ```
 */
export const ONNXRUNTIME_KNOWN_DISAGREEMENTS: Readonly<Record<string, string>> = {
  'node/test_bernoulli_double':
    "random sampling: the expected data came from NumPy's generator, onnxruntime has its own",
  'node/test_bernoulli_seed': 'random sampling: the same seed drives a different generator in onnxruntime',
  'node/test_training_dropout_default_mask': "random dropout mask from onnxruntime's generator, not NumPy's",
  'node/test_dft_inverse':
    'float32 FFT round-off (~1e-5) where the expected value is exactly 0, beyond the absolute tolerance 1e-7',
  'node/test_stft':
    'float32 FFT round-off (~6e-6) where the expected value is exactly 0, beyond the absolute tolerance 1e-7',
  'node/test_resize_downsample_scales_cubic_align_corners':
    'onnxruntime computes cubic downsampling with align_corners differently from the reference (2.5 vs 2.395)',
};
