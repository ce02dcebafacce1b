// One polite live region, present from the first render (App), through which
// notices are announced: a region inserted together with its text is often
// not read at all, so notices do not carry role="status" themselves.
let region: HTMLElement | null = null;
let timer: ReturnType<typeof setTimeout> | undefined;

/** The element App renders as the live region. */
export function setAnnouncer(el: HTMLElement | null): void {
  region = el;
}

/** Says text through the live region; the same text twice is said twice. */
export function announce(text: string): void {
  if (!region || !text) return;
  const el = region;
  el.textContent = '';
  clearTimeout(timer);
  // A change after a tick, so a repeat of the same text is a change.
  timer = setTimeout(() => {
    el.textContent = text;
  }, 50);
}
