// Accessibility checks by a tool we did not write: axe-core, injected into
// the page by playwright-core and run on the page as it stands. A serious
// or critical violation fails the journey, with the rule and the elements.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { freezeMotion } from './csp.mjs';

const require = createRequire(import.meta.url);
const AXE_SOURCE = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');

/** Impacts that fail the journey. */
export const FAILING = new Set(['serious', 'critical']);

/** Every (colour scheme, width) a page state is checked in. */
export const VARIANTS = [
  { scheme: 'light', width: 1280 },
  { scheme: 'dark', width: 1280 },
  { scheme: 'light', width: 360 },
  { scheme: 'dark', width: 360 },
];

/**
 * Runs axe on the page in each variant and returns the failing violations,
 * one line per rule and variant; the page is left as it was found
 * (viewport and colour scheme).
 */
export async function axeViolations(page, { restore = { scheme: 'light', width: 1280, height: 900 } } = {}) {
  const out = [];
  // Colours are read as they settle: no transition may be half-way.
  const thaw = await freezeMotion(page);
  for (const v of VARIANTS) {
    await page.setViewportSize({ width: v.width, height: v.width === 360 ? 780 : 900 });
    await page.emulateMedia({ colorScheme: v.scheme });
    // Transitions (hover, theme) must have settled before colours are read.
    await page.waitForTimeout(250);
    if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(AXE_SOURCE);
    const violations = await page.evaluate(async () => {
      const r = await window.axe.run(document, { resultTypes: ['violations'] });
      return r.violations.map((x) => ({ id: x.id, impact: x.impact, help: x.help, nodes: x.nodes.map((n) => `${n.target.join(' ')}${n.any[0]?.message ? ` — ${n.any[0].message}` : ''}`) }));
    });
    for (const x of violations) {
      if (!FAILING.has(x.impact)) continue;
      out.push(`[${v.scheme} ${v.width}px] ${x.impact} ${x.id} (${x.help}): ${x.nodes.length} node(s)\n      ${x.nodes.slice(0, 8).join('\n      ')}`);
    }
  }
  await thaw();
  await page.setViewportSize({ width: restore.width, height: restore.height });
  await page.emulateMedia({ colorScheme: restore.scheme });
  return out;
}
