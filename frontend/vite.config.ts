import { defineConfig } from 'vitest/config';

/**
 * Where `npm run dev` sends API calls: the local runner (make run), which
 * listens on PORT (default 3000) — the same variable, so both follow it.
 */
export function runnerUrl(env: Record<string, string | undefined> = process.env): string {
  const port = env.PORT?.trim() || '3000';
  if (!/^\d{1,5}$/.test(port)) throw new Error(`PORT must be a port number, got ${JSON.stringify(port)}`);
  return `http://127.0.0.1:${port}`;
}
const runner = runnerUrl();

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
    // `npm run dev` talks to a local runner (make run) on PORT.
    proxy: {
      '/api': runner,
      '/dev': runner,
      '/config.json': runner,
    },
  },
  test: {
    environment: 'happy-dom',
    include: ['test/**/*.test.{ts,tsx}'],
    restoreMocks: true,
    setupFiles: ['test/setup.ts'],
  },
});
