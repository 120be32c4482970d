// The embeddable loader: one classic script, web/dist/checkout/checkout.js, at a stable address that
// merchants put in a <script> tag. It defines <micropay-checkout>, which opens the frame built by
// vite.config.ts. An IIFE, so it needs no module loader and shares no chunk with the frame.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

export default defineConfig({
  root: fileURLToPath(new URL('./checkout/', import.meta.url)),
  logLevel: 'warn',
  publicDir: false,
  build: {
    outDir: fileURLToPath(new URL('./dist/checkout/', import.meta.url)),
    emptyOutDir: false,
    target: 'es2022',
    sourcemap: false,
    lib: {
      entry: fileURLToPath(new URL('./checkout/src/loader/checkout-element.ts', import.meta.url)),
      name: 'MicropayCheckout',
      formats: ['iife'],
      fileName: () => 'checkout.js',
    },
  },
});
