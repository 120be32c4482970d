// The buyer's wallet (React), built into web/dist/wallet/ and served by the Micropay server at /wallet
// (src/server/web-assets.ts: every /wallet path answers index.html, with the wallet's publishable key
// filled into its <meta name="micropay-publishable-key">; docs/wallet.md).
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

export default defineConfig({
  root: fileURLToPath(new URL('./wallet/', import.meta.url)),
  base: '/wallet/',
  logLevel: 'warn',
  publicDir: false,
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('./dist/wallet/', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
  },
});
