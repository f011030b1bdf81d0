import { TelemetryError } from "./errors.js";

/** The `fetch` the client calls: the global one, or yours (tests, proxies, Jupyter's). */
export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** Where the API is and how to authenticate to it. */
export interface Endpoint {
  /** The API's base URL, e.g. `https://host/api/telemetry` (a trailing slash is fine). */
  url: string;
  /** Headers for each request (read per request: the `_xsrf` cookie can change). */
  headers: () => Record<string, string>;
  /** Defaults for each request, e.g. `{credentials: "same-origin"}`. */
  init: RequestInit;
  fetch: FetchLike;
}

/** Sends one request; resolves to its parsed JSON, rejects with a {@link TelemetryError}. */
export async function request(ep: Endpoint, method: string, path: string,
                              body?: string, keepalive = false,
                              now: () => number = Date.now): Promise<{ json: unknown; res: Response }> {
  const headers: Record<string, string> = { Accept: "application/json", ...ep.headers() };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res: Response;
  try {
    res = await ep.fetch(`${ep.url.replace(/\/+$/, "")}/${path}`,
      { ...ep.init, method, headers, body, keepalive });
  } catch (err) {
    throw new TelemetryError("network", `${method} ${path}: no answer (${errorName(err)})`);
  }
  const text = await res.text().catch(() => "");
  let json: unknown = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON: say so below if it matters */ }
  if (!res.ok) {
    const error = (json as { error?: { code?: unknown; message?: unknown } } | null)?.error;
    const code = typeof error?.code === "string" ? error.code : undefined;
    const message = typeof error?.message === "string" ? `: ${error.message}` : "";
    throw new TelemetryError("http", `${method} ${path}: HTTP ${res.status}${message}`, {
      status: res.status, code,
      retryAfterMs: parseRetryAfter(res.headers.get("Retry-After"), now()),
    });
  }
  return { json, res };
}

/** Whether trying the same request again may work: no answer, 5xx, or 429. */
export function isRetryable(err: unknown): boolean {
  if (!(err instanceof TelemetryError)) return false;
  if (err.kind === "network") return true;
  return err.kind === "http" && (err.status === 429 || (err.status ?? 0) >= 500);
}

/** `Retry-After` (seconds, or an HTTP date) in milliseconds from `now`; undefined if absent. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (!value) return undefined;
  if (/^\s*\d+(\.\d+)?\s*$/.test(value)) return Math.round(Number(value) * 1000);
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * The wait before retry `attempt` (0 for the first retry): exponential from `baseMs`,
 * capped at `maxMs`, with "equal jitter" (half fixed, half random) so that clients that
 * failed together do not come back together.
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number,
                             random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** attempt);
  return ceiling / 2 + random() * (ceiling / 2);
}

function errorName(err: unknown): string {
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
