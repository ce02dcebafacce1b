// The one way a component reads from the API: each read gets its own
// AbortController, a newer read (new inputs, reload) or unmounting aborts
// the older one, and an answer that arrives after that is dropped — so a
// slow, stale answer never overwrites a newer one. A page that also learns
// the value from elsewhere (a change's answer) shows it with set, and says
// with merge which of two values wins (the gateway page: the newer version).
import { useEffect, useRef, useState } from 'preact/hooks';

export interface Fetched<T> {
  /** The latest answer; kept while a reload is under way. */
  data: T | null;
  /** The latest read's failure (cleared by the next success or set). */
  error: unknown;
  loading: boolean;
  /**
   * Reads again with the same inputs, aborting a read under way. Resolves
   * to the value shown once this read answered (after merge), or null when
   * it failed (see error) or a newer read or unmounting superseded it.
   */
  reload: () => Promise<T | null>;
  /** Shows a value learnt elsewhere, such as a change's answer, through merge. */
  set: (value: T) => void;
}

export interface FetchOptions<T> {
  /**
   * Which value to show when one arrives (read or set) while another is
   * shown; by default the one that arrived. It decides between values, not
   * between reads: a superseded read's answer never gets here.
   */
  merge?: (current: T | null, next: T) => T;
}

/** Runs fetcher(signal) whenever deps change or reload() is called. */
export function useFetch<T>(fetcher: (signal: AbortSignal) => Promise<T>, deps: unknown[], options: FetchOptions<T> = {}): Fetched<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  // What the handlers below need at call time, not at the render that made them.
  const latest = useRef({ fetcher, merge: options.merge });
  latest.current = { fetcher, merge: options.merge };
  const shown = useRef<T | null>(null);
  const current = useRef<AbortController | null>(null);

  const show = (next: T): T => {
    const merge = latest.current.merge;
    const v = merge ? merge(shown.current, next) : next;
    shown.current = v;
    setData(v);
    setError(null);
    return v;
  };

  const read = (): Promise<T | null> => {
    current.current?.abort();
    const ac = new AbortController();
    current.current = ac;
    setLoading(true);
    return latest.current.fetcher(ac.signal).then(
      (d) => {
        if (ac.signal.aborted) return null;
        setLoading(false);
        return show(d);
      },
      (e) => {
        if (ac.signal.aborted) return null;
        setError(e);
        setLoading(false);
        return null;
      },
    );
  };

  useEffect(() => {
    void read();
    return () => current.current?.abort();
  }, deps);

  return { data, error, loading, reload: read, set: (v: T) => void show(v) };
}
