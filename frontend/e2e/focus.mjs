// Keyboard focus must be visible on every control: tab through the page and
// check each focused element's computed outline (or box-shadow ring) — at
// least 2 CSS px, solid, and 3:1 or more against what is behind it, the
// WCAG 2.2 focus-appearance measure.
import { freezeMotion } from './csp.mjs';

/** Runs in the page: describes the focus indicator of document.activeElement. */
function describeFocus() {
  const parse = (c) => {
    if (!c) return null;
    let m = /^rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?\)$/.exec(c);
    if (m) return { r: +m[1], g: +m[2], b: +m[3], a: m[4] === undefined ? 1 : +m[4] };
    m = /^color\(srgb ([\d.]+) ([\d.]+) ([\d.]+)(?: \/ ([\d.]+))?\)$/.exec(c);
    if (m) return { r: m[1] * 255, g: m[2] * 255, b: m[3] * 255, a: m[4] === undefined ? 1 : +m[4] };
    return null;
  };
  const lum = ({ r, g, b }) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const ratio = (x, y) => { const a = lum(x), b = lum(y); return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05); };
  // What is behind the ring: the first opaque background going outwards
  // from the element's parent (the ring is drawn outside the element).
  const behind = (el) => {
    for (let n = el.parentElement; n; n = n.parentElement) {
      const c = parse(getComputedStyle(n).backgroundColor);
      if (c && c.a >= 0.5) return c;
    }
    return parse(getComputedStyle(document.body).backgroundColor);
  };
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const cs = getComputedStyle(el);
  const name = `${el.tagName.toLowerCase()}${el.getAttribute('aria-label') ? `[${el.getAttribute('aria-label')}]` : ''} "${(el.textContent || el.getAttribute('name') || '').trim().slice(0, 30)}"`;
  const bg = behind(el);
  const rings = [];
  if (cs.outlineStyle !== 'none' && cs.outlineStyle !== 'hidden') {
    rings.push({ kind: 'outline', width: parseFloat(cs.outlineWidth), solid: cs.outlineStyle === 'solid', color: parse(cs.outlineColor) });
  }
  if (cs.boxShadow && cs.boxShadow !== 'none') {
    // "rgb(79, 70, 229) 0px 0px 0px 2px" — spread is the fourth length.
    for (const part of cs.boxShadow.split(/,(?![^(]*\))/)) {
      const color = parse((/(rgba?\([^)]*\)|color\([^)]*\))/.exec(part) || [])[1]);
      const lengths = [...part.replace(/(rgba?\([^)]*\)|color\([^)]*\))/, '').matchAll(/(-?[\d.]+)px/g)].map((m) => +m[1]);
      if (!part.includes('inset') && lengths.length >= 4) rings.push({ kind: 'box-shadow', width: lengths[3], solid: true, color });
    }
  }
  const good = rings.find((r) => r.width >= 2 && r.solid && r.color && r.color.a >= 0.99 && bg && ratio(r.color, bg) >= 3);
  return { name, good: !!good, rings: rings.map((r) => `${r.kind} ${r.width}px${r.color && bg ? ` ${ratio(r.color, bg).toFixed(2)}:1` : ''}`) };
}

/**
 * Presses Tab up to max times from the top of the page and returns a line
 * for every focused element without a visible ring, and how many were seen.
 */
export async function focusFailures(page, max = 60) {
  // The ring as it settles (some controls ease it in), not half-way.
  const thaw = await freezeMotion(page);
  await page.evaluate(() => { document.activeElement?.blur?.(); window.scrollTo(0, 0); });
  const seen = new Set();
  const bad = [];
  let count = 0;
  for (let i = 0; i < max; i++) {
    await page.keyboard.press('Tab');
    const f = await page.evaluate(describeFocus);
    if (!f) break;
    const key = await page.evaluate(() => { const e = document.activeElement; return e ? `${e.tagName}:${[...e.parentNode.children].indexOf(e)}:${e.outerHTML.length}:${e.getBoundingClientRect().top}` : ''; });
    if (seen.has(key)) break;
    seen.add(key);
    count += 1;
    if (!f.good) bad.push(`${f.name}: ${f.rings.length ? f.rings.join(', ') : 'no outline or ring'}`);
  }
  await thaw();
  return { count, bad };
}
