import { TelemetryError } from "./errors.js";
import { type UserToken, UserTokenSource } from "./userToken.js";

/** The `fetch` the client calls: the global one, or yours (tests, proxies, Jupyter's). */
export type FetchLike = (input: string, init?: RequestInit) => Promise<Response>;

/** Where the API is and how to authenticate to it. */
export interface Endpoint {
  /** The API's base URL, e.g. `https://host/api/telemetry` (a trailing slash is fine). */
  url: string;
  /** Headers for each request (read per request: the `_xsrf` cookie, a user token can change). */
  headers: () => Record<string, string> | Promise<Record<string, string>>;
  /** Called when the server answered 401: a user token is dropped for a fresh one. */
  unauthorized?: () => void;
  /** Defaults for each request, e.g. `{credentials: "same-origin"}`. */
  init: RequestInit;
  fetch: FetchLike;
}

/**
 * The connection settings of a Jupyter server, shaped like `ServerConnection.ISettings`
 * of `@jupyterlab/services` (pass `app.serviceManager.serverSettings` as it is).
 */
export interface JupyterServerSettings {
  /** The server's base URL, e.g. `https://hub.example.org/user/ada/`. */
  baseUrl: string;
  /** The Jupyter token, sent as `Authorization: token ...` when not empty. */
  token?: string;
  /** Accepted for shape compatibility; HTTP requests always use the header, never the URL. */
  appendToken?: boolean;
  /** The `fetch` to use (JupyterLab's, or one of your own). */
  fetch?: FetchLike;
  /** Defaults for each request; `{cache: "no-store", credentials: "same-origin"}` by default. */
  init?: RequestInit;
  /** The XSRF token; read from the `_xsrf` cookie at each request when not given. */
  xsrfToken?: string;
}

/** Where requests go and with which headers: standalone (`url`, `token`) or Jupyter's settings. */
export function endpoint(o: { url?: string; token?: string; userToken?: UserToken;
                              serverSettings?: JupyterServerSettings;
                              headers?: Record<string, string>; fetch?: FetchLike },
                         now: () => number = Date.now): Endpoint {
  const s = o.serverSettings;
  // Always called as a plain function: JupyterLab's settings hold the page's own
  // `window.fetch`, which throws "Illegal invocation" when called as a method of ours.
  const given = o.fetch ?? s?.fetch;
  const fetch: FetchLike = given ? (input, init) => given(input, init)
    : (input, init) => globalThis.fetch(input, init);
  if (s) {
    return {
      url: `${s.baseUrl.replace(/\/*$/, "/")}api/telemetry`,
      fetch,
      init: { cache: "no-store", credentials: "same-origin", ...s.init },
      headers: () => {
        const xsrf = s.xsrfToken ?? cookie("_xsrf");
        return {
          ...(s.token ? { Authorization: `token ${s.token}` } : {}),
          ...(xsrf ? { "X-XSRFToken": xsrf } : {}),
          ...o.headers,
        };
      },
    };
  }
  if (!o.url) throw new TypeError("TelemetryClient: give `url` (and `userToken`), or `serverSettings`");
  if (o.userToken !== undefined) {
    if (o.token !== undefined) throw new TypeError("TelemetryClient: give `userToken` or `token`, not both");
    const source = new UserTokenSource(o.userToken, now);
    return {
      url: o.url,
      fetch,
      init: {},
      headers: async () => ({ Authorization: `Bearer ${await source.get()}`, ...o.headers }),
      unauthorized: () => source.expire(),
    };
  }
  return {
    url: o.url,
    fetch,
    init: {},
    headers: () => ({ ...(o.token ? { Authorization: `Bearer ${o.token}` } : {}), ...o.headers }),
  };
}

function cookie(name: string): string | undefined {
  const text = (globalThis as { document?: { cookie?: string } }).document?.cookie ?? "";
  const m = text.match(new RegExp(`(?:^|;\\s*)${name}=([^;]*)`));
  return m ? decodeURIComponent(m[1]) : undefined;
}

/** Sends one request; resolves to its parsed JSON, rejects with a {@link TelemetryError}. */
export async function request(ep: Endpoint, method: string, path: string,
                              body?: string, keepalive = false,
                              now: () => number = Date.now): Promise<{ json: unknown; res: Response }> {
  let headers: Record<string, string>;
  try {
    headers = { Accept: "application/json", ...(await ep.headers()) };
  } catch (err) {
    if (err instanceof TelemetryError) throw err;
    throw new TelemetryError("network", `${method} ${path}: no credentials (${errorName(err)})`);
  }
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
    if (res.status === 401) ep.unauthorized?.();
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
