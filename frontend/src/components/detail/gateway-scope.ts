// What the panels of a gateway's page share with the page: a way to say
// "the server no longer knows this gateway". Every route ships, so a 404 on
// a gateway-scoped route means the gateway is gone (deleted elsewhere, or
// moved out of reach), never that a feature is missing; the page checks and
// then shows "Gateway not found" instead of panels vanishing one by one.
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import { ApiError } from '../../lib/api';

/** Called by a panel with any error a gateway-scoped request failed with. */
export const GatewayGoneContext = createContext<(e: unknown) => void>(() => {});

/** Returns report(e): tells the page when e is a 404, so it can look the gateway up again. */
export function useReportGone(): (e: unknown) => void {
  const onGone = useContext(GatewayGoneContext);
  return (e: unknown) => {
    if (isNotFound(e)) onGone(e);
  };
}

export function isNotFound(e: unknown): e is ApiError {
  return e instanceof ApiError && e.status === 404;
}
