// A one-shot message carried across a navigation ("Gateway created").
import { useState } from 'preact/hooks';

let pending: string | null = null;

export function setFlash(msg: string): void {
  pending = msg;
}

export function takeFlash(): string | null {
  const m = pending;
  pending = null;
  return m;
}

/** The flash waiting for this page, read once when the page mounts. */
export function useFlash(): [string | null, () => void] {
  const [msg, setMsg] = useState<string | null>(() => takeFlash());
  return [msg, () => setMsg(null)];
}
