import { defineConfig } from 'tsup';
import { packageBuild } from '../../tsup.base.js';

// tfjs-core ships its gradients as ESM with extensionless imports, which Node's ESM loader
// refuses; bundling tfjs-core, its gradients and the CPU backend into this package resolves
// them at build time and leaves one tfjs copy, with every gradient registered. tfjs's Node
// platform calls require('util'), so the Node ESM build gets a real require. Browsers get their
// own build (the `browser` export condition) without it: node:module does not exist there, and
// tfjs only takes its Node platform in Node.
const base = packageBuild(['src/index.ts']) as Record<string, unknown>;
export default defineConfig([
  {
    ...base,
    noExternal: [/^@tensorflow\//],
    esbuildOptions(options, context) {
      if (context.format === 'esm')
        options.banner = {
          js: "import { createRequire as __edgemlCreateRequire } from 'node:module'; const require = __edgemlCreateRequire(import.meta.url);",
        };
    },
  },
  {
    entry: { 'index.browser': 'src/index.ts' },
    format: ['esm'],
    platform: 'browser',
    target: 'es2022',
    sourcemap: true,
    dts: false,
    clean: false,
    noExternal: [/^@tensorflow\//],
    // The file loaders (loadNpyDataset, image folders) import Node's modules; a browser app never calls them.
    external: [/^node:/],
  },
]);
