import { defineConfig, defaultClientConditions } from 'vite';

/**
 * Cross-origin isolation: onnxruntime-web runs wasm threads on SharedArrayBuffer, which browsers
 * give only to isolated pages. A static host must send the same two headers for threads.
 */
const ISOLATION_HEADERS = {
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Embedder-Policy': 'require-corp',
};

export default defineConfig({
  root: import.meta.dirname,
  // Relative URLs: the built site works from any folder of any static host.
  base: './',
  // The workspace packages' TypeScript sources (their `source` export condition): no prior build needed.
  resolve: { conditions: ['source', ...defaultClientConditions] },
  worker: { format: 'es' },
  server: { headers: ISOLATION_HEADERS },
  preview: { headers: ISOLATION_HEADERS },
  // onnxruntime-web's wasm files are the app's own assets (src/ort-files.ts); pre-bundling would part them from it.
  optimizeDeps: { exclude: ['onnxruntime-web'] },
  build: {
    target: 'es2022',
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 1024,
    rollupOptions: {
      // @edgeml/benchmark and runtime-web keep Node-only paths (files, child processes, /proc) that
      // the page never takes: their Node imports become empty stubs, as intended, and need no warning.
      onwarn(warning, warn) {
        if (/externalized for browser compatibility|__vite-browser-external/.test(warning.message)) return;
        warn(warning);
      },
    },
  },
});
