// onnxruntime-web's wasm runtime (the build of its default bundle: wasm and WebGPU execution
// providers), served by the app itself: Vite copies both files into the build and serves them in
// dev. Nothing is fetched from a CDN.
import wasm from 'onnxruntime-web/ort-wasm-simd-threaded.jsep.wasm?url';
import mjs from 'onnxruntime-web/ort-wasm-simd-threaded.jsep.mjs?url';

export const ORT_WASM_FILES = { wasm: new URL(wasm, document.baseURI).href, mjs: new URL(mjs, document.baseURI).href };
