import { defineConfig } from 'vite';

// Built with `vite build dashboard` (root: this folder). The dashboard is served by the registry under /dashboard/ (src/http/dashboard.ts) from
// dist/dashboard. Everything is bundled: no CDN, no inline script (the page's CSP forbids it).
export default defineConfig({
  base: '/dashboard/',
  build: {
    outDir: '../dist/dashboard',
    emptyOutDir: true,
    target: 'es2022',
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    sourcemap: false,
  },
});
