// The one way a component reads from the API: each read gets its own
// AbortController, a newer read (new inputs, reload) or unmounting aborts
// the older one, and an answer that arrives after that is dropped — so a
// slow, stale answer never overwrites a newer one.
import { useEffect, useState } from 'preact/hooks';

export interface Fetched<T> {
  /** The latest answer; kept while a reload is under way. */
  data: T | null;
  /** The latest read's failure (cleared by the next success). */
  error: unknown;
  loading: boolean;
  /** Reads again with the same inputs. */
  reload: () => void;
}

/** Runs fetcher(signal) whenever deps change or reload() is called. */
export function useFetch<T>(fetcher: (signal: AbortSignal) => Promise<T>, deps: unknown[]): Fetched<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const ac = new AbortController();
    setLoading(true);
    fetcher(ac.signal).then(
      (d) => {
        if (ac.signal.aborted) return;
        setData(d);
        setError(null);
        setLoading(false);
      },
      (e) => {
        if (ac.signal.aborted) return;
        setError(e);
        setLoading(false);
      },
    );
    return () => ac.abort();
  }, [...deps, attempt]);

  return { data, error, loading, reload: () => setAttempt((n) => n + 1) };
}
