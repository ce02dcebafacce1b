import { defineConfig } from 'vitest/config';

// Preact through the automatic JSX runtime, without a Babel plugin: Vite 8
// transforms TypeScript and JSX with Oxc.
export default defineConfig({
  oxc: {
    jsx: { runtime: 'automatic', importSource: 'preact' },
  },
  build: {
    target: 'es2022',
    sourcemap: false,
    // One small app: a single chunk loads faster than a waterfall of them.
    cssCodeSplit: false,
  },
  server: {
    // `npm run dev` talks to a local runner (make run) on :3000.
    proxy: {
      '/api': 'http://127.0.0.1:3000',
      '/dev': 'http://127.0.0.1:3000',
      '/config.json': 'http://127.0.0.1:3000',
    },
  },
  test: {
    environment: 'happy-dom',
    include: ['test/**/*.test.{ts,tsx}'],
    restoreMocks: true,
    setupFiles: ['test/setup.ts'],
  },
});
