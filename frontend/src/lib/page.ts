// What each page does on arrival: set the document title (what a tab, a
// history entry and a screen reader's "page" announce) and, when it was
// reached by in-app navigation, move focus to its heading, as a full page
// load would put a screen reader at the top. A first load leaves focus alone.
import { useEffect } from 'preact/hooks';
import { consumeNavigated } from './router';

export const APP_NAME = 'Gatehouse';

/** Sets the title to "title · Gatehouse" (null: still loading, leave it) and focuses the page's h1 after a navigation. */
export function usePage(title: string | null): void {
  useEffect(() => {
    if (title === null) return;
    document.title = title ? `${title} · ${APP_NAME}` : APP_NAME;
    if (!consumeNavigated()) return;
    const h = document.querySelector<HTMLElement>('main h1');
    if (!h) return;
    if (!h.hasAttribute('tabindex')) h.setAttribute('tabindex', '-1');
    h.focus({ preventScroll: true });
  }, [title]);
}
