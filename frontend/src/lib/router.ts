// A tiny history router: the path is the state, links are ordinary anchors
// whose clicks are intercepted, and every server (the local runner, S3 behind
// CloudFront) answers unknown paths with index.html.
import { useEffect, useState } from 'preact/hooks';

type Listener = () => void;
const listeners = new Set<Listener>();
// Set by an in-app navigation (a link, back/forward), read once by the page
// that arrives (usePage), which then moves focus to its heading.
let navigated = false;

/** Whether the page now showing was reached by in-app navigation; reading it clears it. */
export function consumeNavigated(): boolean {
  const n = navigated;
  navigated = false;
  return n;
}

function notify() {
  for (const l of listeners) l();
}

if (typeof window !== 'undefined') window.addEventListener('popstate', () => { navigated = true; notify(); });

export function currentPath(): string {
  return window.location.pathname + window.location.search;
}

export function navigate(to: string, opts: { replace?: boolean } = {}): void {
  if (to === currentPath()) {
    notify();
    return;
  }
  // A replace (a redirect) or a new query on the same page (a filter) is not an arrival.
  const arriving = !opts.replace && to.split('?')[0] !== window.location.pathname;
  if (opts.replace) window.history.replaceState(null, '', to);
  else window.history.pushState(null, '', to);
  if (arriving) navigated = true;
  window.scrollTo?.(0, 0);
  notify();
}

export function useLocation(): { path: string; query: URLSearchParams } {
  const [, force] = useState(0);
  useEffect(() => {
    const l = () => force((n) => n + 1);
    listeners.add(l);
    return () => {
      listeners.delete(l);
    };
  }, []);
  return { path: window.location.pathname, query: new URLSearchParams(window.location.search) };
}

/** Matches "/gateways/:id" against a path; returns the params or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const p = pattern.split('/');
  const s = path.replace(/\/+$/, '').split('/');
  if (path === '/') s.splice(1);
  if (p.length !== s.length) return null;
  const out: Record<string, string> = {};
  for (let i = 0; i < p.length; i++) {
    if (p[i].startsWith(':')) {
      if (!s[i]) return null;
      try {
        out[p[i].slice(1)] = decodeURIComponent(s[i]);
      } catch {
        return null;
      }
    } else if (p[i] !== s[i]) return null;
  }
  return out;
}

/** Click handler for in-app anchors: lets modified clicks open new tabs. */
export function onLinkClick(e: MouseEvent): void {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = (e.currentTarget as HTMLAnchorElement) ?? null;
  const href = a?.getAttribute('href');
  if (!href || !href.startsWith('/') || a.target) return;
  e.preventDefault();
  navigate(href);
}
