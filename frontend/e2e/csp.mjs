// The dashboard under the Content-Security-Policy production sends: the
// local runner serves template.yaml's policy (infra/local DashboardHeaders),
// and the journey fails on any answer without it and on any violation —
// an inline script or style, eval, a request to an origin it does not name.
import assert from 'node:assert/strict';

/**
 * Records every CSP violation in every page of context, with the directive,
 * what was blocked and where, through a listener installed before any of
 * the page's own scripts run. Returns the list, filled as violations happen.
 */
export async function watchViolations(context) {
  const violations = [];
  await context.exposeBinding('__gatehouseCspViolation', (_source, v) => { violations.push(v); });
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__gatehouseCspViolation(`${e.effectiveDirective} blocked ${e.blockedURI || '(inline)'} at ${e.sourceFile || location.pathname}:${e.lineNumber}${e.sample ? ` “${e.sample}”` : ''}`);
    });
  });
  return violations;
}

/** Asserts that an answer carries the dashboard's policy: same origin only, no inline script, no framing. */
export function assertPolicy(response) {
  const policy = response.headers()['content-security-policy'] ?? '';
  const directives = Object.fromEntries(policy.split(';').map((d) => d.trim().split(/\s+/)).filter((d) => d[0]).map(([k, ...v]) => [k, v]));
  assert.deepEqual(directives['default-src'], ["'self'"], `default-src in ${JSON.stringify(policy)}`);
  assert.deepEqual(directives['script-src'], ["'self'"], `script-src in ${JSON.stringify(policy)}`);
  assert.deepEqual(directives['frame-ancestors'], ["'none'"], `frame-ancestors in ${JSON.stringify(policy)}`);
  assert.ok(!/unsafe-/.test(policy), `no unsafe-… in ${JSON.stringify(policy)}`);
  return policy;
}

/**
 * Stops every transition and animation on the page, so colours and rings
 * are read as they settle, and returns what undoes it. The rule goes into
 * the page's own stylesheet through the CSSOM, which the policy allows; a
 * <style> element (page.addStyleTag) would be an inline style it refuses.
 */
export async function freezeMotion(page) {
  const undo = await page.evaluateHandle(() => {
    const sheet = [...document.styleSheets].find((s) => { try { return !!s.cssRules; } catch { return false; } });
    if (!sheet) throw new Error('the page has no stylesheet of its own origin to add a rule to');
    const rule = sheet.cssRules[sheet.insertRule('*, *::before, *::after { transition: none !important; animation: none !important; }', sheet.cssRules.length)];
    return () => { const i = [...sheet.cssRules].indexOf(rule); if (i >= 0) sheet.deleteRule(i); };
  });
  return async () => {
    await undo.evaluate((f) => f());
    await undo.dispose();
  };
}
