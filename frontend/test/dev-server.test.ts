import { describe, expect, it } from 'vitest';
import { runnerUrl } from '../vite.config';

describe('npm run dev', () => {
  it.each([
    { name: 'no PORT', env: {}, want: 'http://127.0.0.1:3000' },
    { name: 'PORT=3100', env: { PORT: '3100' }, want: 'http://127.0.0.1:3100' },
  ])('proxies to the local runner: $name', ({ env, want }) => {
    expect(runnerUrl(env)).toBe(want);
  });

  it('refuses a PORT that is not a number', () => {
    expect(() => runnerUrl({ PORT: 'abc' })).toThrow(/PORT/);
  });
});
