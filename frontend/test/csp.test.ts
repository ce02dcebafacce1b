// The dashboard is served with a Content-Security-Policy that allows
// scripts and styles only from its own origin (template.yaml's
// DashboardHeadersPolicy): the built app must need nothing inline. This
// builds it as `npm run build` does and reads what a browser would get.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
let out = '';

beforeAll(async () => {
  out = mkdtempSync(join(tmpdir(), 'gatehouse-csp-'));
  await build({ root, logLevel: 'silent', build: { outDir: out, emptyOutDir: true } });
}, 60_000);
afterAll(() => {
  if (out) rmSync(out, { recursive: true, force: true });
});

/** index.html as inert nodes: nothing in a <template> loads or runs. */
function shell(): DocumentFragment {
  const t = document.createElement('template');
  t.innerHTML = readFileSync(join(out, 'index.html'), 'utf8');
  return t.content;
}

describe('the built dashboard under its Content-Security-Policy', () => {
  it('has no inline script: every <script> loads a file of its own origin', () => {
    const scripts = [...shell().querySelectorAll('script')];
    expect(scripts.length).toBeGreaterThan(0);
    for (const s of scripts) {
      expect(s.textContent?.trim(), s.outerHTML).toBe('');
      expect(s.getAttribute('src'), s.outerHTML).toMatch(/^\/(?!\/)/);
    }
  });

  it('has no inline style, event handler or javascript: URL in its HTML', () => {
    const doc = shell();
    expect(doc.querySelectorAll('style')).toHaveLength(0);
    for (const el of doc.querySelectorAll('*')) {
      for (const a of el.getAttributeNames()) {
        expect(a === 'style' || a.startsWith('on'), `${a} on <${el.tagName.toLowerCase()}>`).toBe(false);
        expect(el.getAttribute(a) ?? '', `${a} on <${el.tagName.toLowerCase()}>`).not.toMatch(/^\s*javascript:/i);
      }
    }
    for (const l of doc.querySelectorAll('link[href]')) expect(l.getAttribute('href'), l.outerHTML).toMatch(/^\/(?!\/)/);
  });

  it('evaluates no strings as code', () => {
    const assets = readdirSync(join(out, 'assets')).filter((f) => f.endsWith('.js'));
    expect(assets.length).toBeGreaterThan(0);
    for (const f of assets) {
      const js = readFileSync(join(out, 'assets', f), 'utf8');
      expect(js, f).not.toMatch(/\beval\(|new Function\(|setTimeout\(\s*['"`]|setInterval\(\s*['"`]/);
    }
  });
});
