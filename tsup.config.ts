import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', cli: 'src/cli/main.ts', test: 'src/providers/mock.ts' },
  format: ['esm', 'cjs'],
  dts: { entry: { index: 'src/index.ts', test: 'src/providers/mock.ts' } },
  // import.meta.url is used to locate bundled binaries; shims make it work in the CJS build.
  shims: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  splitting: false,
});
