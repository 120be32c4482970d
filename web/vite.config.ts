// The checkout frame (frame.html and its script), built into web/dist/checkout/ and served by the
// Micropay server at /checkout/. The loader script (checkout.js) is a second build:
// vite.loader.config.ts.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const root = fileURLToPath(new URL('./checkout/', import.meta.url));

export default defineConfig({
  root,
  base: '/checkout/',
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('./dist/checkout/', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    rolldownOptions: { input: { frame: fileURLToPath(new URL('./checkout/frame.html', import.meta.url)) } },
  },
});
