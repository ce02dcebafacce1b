// Following a messages job until it is done: the send form waits for one
// Markdown message this way, the broadcast view (useMessageJob) shows a
// job's progress as it goes.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, type ApiClient, type MessageJob } from './api';

/** How often a running job is read again: its counters move at Telegram's pace (about 30 messages a second per bot). */
export const POLL_MS = 1500;

/** Resolves after ms, or rejects with an AbortError when signal aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(new DOMException('Aborted', 'AbortError'));
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(new DOMException('Aborted', 'AbortError'));
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export function isAbort(e: unknown): boolean {
  return (e as Error | null)?.name === 'AbortError';
}

/**
 * Reads the job every interval until it is DONE or timeoutMs passed, and
 * returns the last reading (whose status says which). A failed reading is
 * tried again, except a 4xx, which is thrown; an abort rejects with the
 * AbortError.
 */
export async function waitForJob(api: ApiClient, gatewayId: string, jobId: string, o: { signal?: AbortSignal; interval?: number; timeoutMs?: number; onUpdate?: (j: MessageJob) => void } = {}): Promise<MessageJob | null> {
  const interval = o.interval ?? 1000;
  const deadline = Date.now() + (o.timeoutMs ?? 60_000);
  let last: MessageJob | null = null;
  for (;;) {
    try {
      last = await api.getMessageJob(gatewayId, jobId, { limit: 10 }, o.signal);
      o.onUpdate?.(last);
      if (last.status === 'DONE') return last;
    } catch (e) {
      if (isAbort(e) || (e instanceof ApiError && e.status >= 400 && e.status < 500)) throw e;
    }
    if (Date.now() >= deadline) return last;
    await sleep(interval, o.signal);
  }
}

export interface JobReading {
  job: MessageJob | null;
  /** The page job's items are: until the first reading of a new page, the previous page's. */
  cursor: string | null;
  /** The last reading's failure; polling goes on (slower) unless the job is gone. */
  error: unknown;
}

/**
 * One page of a job, read again every POLL_MS until the job is DONE; the
 * reading stops when the component unmounts or the job or page changes.
 */
export function useMessageJob(api: ApiClient, gatewayId: string, jobId: string, cursor: string | null, limit: number): JobReading {
  const [reading, setReading] = useState<JobReading>({ job: null, cursor, error: null });
  useEffect(() => {
    const ctl = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const read = async () => {
      let next = POLL_MS;
      try {
        const job = await api.getMessageJob(gatewayId, jobId, { cursor, limit }, ctl.signal);
        if (ctl.signal.aborted) return;
        setReading({ job, cursor, error: null });
        if (job.status === 'DONE') return;
      } catch (e) {
        if (isAbort(e) || ctl.signal.aborted) return;
        setReading((r) => ({ ...r, error: e }));
        if (e instanceof ApiError && (e.status === 404 || e.status === 400)) return;
        next = POLL_MS * 4;
      }
      timer = setTimeout(read, next);
    };
    void read();
    return () => {
      ctl.abort();
      clearTimeout(timer);
    };
  }, [api, gatewayId, jobId, cursor, limit]);
  return reading;
}
