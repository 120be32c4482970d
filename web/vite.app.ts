// The React single-page apps (wallet, dashboard, console) share one build shape: built into
// web/dist/<name>/ and served by the Micropay server at /<name> (src/server/web-assets.ts: every
// /<name> path answers index.html; hashed files under /<name>/assets/).
import { fileURLToPath } from 'node:url';
import { defineConfig, type UserConfig } from 'vite';
import react from '@vitejs/plugin-react';

export function appConfig(name: 'wallet' | 'dashboard' | 'console'): UserConfig {
  return defineConfig({
    root: fileURLToPath(new URL(`./${name}/`, import.meta.url)),
    base: `/${name}/`,
    logLevel: 'warn',
    publicDir: false,
    plugins: [react()],
    build: {
      outDir: fileURLToPath(new URL(`./dist/${name}/`, import.meta.url)),
      emptyOutDir: true,
      target: 'es2022',
      sourcemap: false,
      // Charts (recharts) make the dashboard and console bundles larger than Vite's 500 kB hint.
      chunkSizeWarningLimit: 1500,
    },
  });
}
