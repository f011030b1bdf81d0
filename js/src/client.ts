import { ConsentFilter, toDecisions, type ConsentDecision, type ConsentState } from "./consent.js";
import { TelemetryError, TelemetryValidationError } from "./errors.js";
import { EventQueue, defaultStorage, wire, type QueueStorage, type QueuedEvent } from "./queue.js";
import { browserPage, type PageLifecycle } from "./page.js";
import {
  backoffDelay, endpoint, isRetryable, request, type Endpoint, type FetchLike,
  type JupyterServerSettings,
} from "./transport.js";
import { SchemaSet, type SchemaEntry } from "./validation.js";
import { tokenClaims, type UserToken } from "./userToken.js";

/** Time, injectable so that tests run batching and backoff without waiting. */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Options of {@link TelemetryClient}; give `url` (and `token`) or `serverSettings`. */
export interface TelemetryClientOptions {
  /** The API's base URL, e.g. `https://host/api/telemetry` (standalone `telemetry serve`). */
  url?: string;
  /**
   * The signed-in user's token (standalone `telemetry serve`), sent as `Authorization:
   * Bearer ...`: a string, or a function the client calls for a fresh one shortly before the
   * last one expires (and after a 401). Your backend mints it; the page holds no secret.
   */
  userToken?: UserToken;
  /**
   * A client token, sent as `Authorization: Bearer ...`: only for server-side use (Node);
   * in a page anyone can read it. Browsers use `userToken`.
   */
  token?: string;
  /** Inside Jupyter: the server's connection settings instead of `url`/`token`. */
  serverSettings?: JupyterServerSettings;
  /** Extra headers for every request. */
  headers?: Record<string, string>;
  /** The `fetch` to call; the global one by default. */
  fetch?: FetchLike;
  /** Where the queue persists: `localStorage` in browsers, memory elsewhere by default. */
  storage?: QueueStorage;
  /**
   * The storage key; by default derived from the URL and the user (a string `userToken`'s
   * subject, or the `X-Telemetry-User` header), so servers and users never share a queue (or
   * a cached consent). With a `userToken` function, give one per user.
   */
  storageKey?: string;
  /** Events per request (default 20): a batch this full is sent at once. */
  batchSize?: number;
  /** The oldest queued event waits at most this long before its batch is sent (default 5000). */
  maxBatchAgeMs?: number;
  /** A request body's bound in bytes (default 64000, which page-exit requests need too). */
  maxBatchBytes?: number;
  /** One event's bound in bytes as JSON (default 16384); larger ones are invalid. */
  maxEventBytes?: number;
  /** Events queued at most (default 1000); more are dropped and counted. */
  maxQueue?: number;
  /** Retries of one request before its events wait for later (default 5). */
  maxRetries?: number;
  /** The first retry's wait, doubled each time (default 1000 ms). */
  retryBaseMs?: number;
  /** The longest wait between retries (default 60000 ms); a longer Retry-After ends the round. */
  retryMaxMs?: number;
  /** How old the cached GET schemas and GET consent may get (default 300000 ms). */
  schemaRefreshMs?: number;
  /** Page exit and `online` events: the browser's by default, none in Node; `null` for none. */
  page?: PageLifecycle | null;
  /** Called with each error of a background send (never thrown into the application). */
  onError?: (error: TelemetryError) => void;
  /** The clock; the real one by default. */
  clock?: Clock;
  /** The jitter's random numbers in [0, 1); `Math.random` by default. */
  random?: () => number;
}

/** What became of a recorded event. */
export type RecordResult =
  | { status: "queued"; id: string }
  | { status: "not_recorded"; reason: "not_allowed" | "no_consent" | "queue_full" | "closed" };

/** The client's counters since it was made. */
export interface TelemetryStats {
  /** Events waiting to be sent (in flight included). */
  queued: number;
  /** Events in requests the server answered. */
  sent: number;
  /** Events the server answered `recorded`. */
  recorded: number;
  /** Events the server answered `duplicate` (already recorded: a resend). */
  duplicate: number;
  /** Events not sent or not recorded: schema not allowed or no consent (client or server). */
  notRecorded: number;
  /** Invalid events (client side, or the server's `invalid`). */
  invalid: number;
  /** Events dropped because the queue was full. */
  dropped: number;
  /** Events given up on: the server refused their request with a 4xx other than 429. */
  failed: number;
  /** Requests tried again after a network error, 5xx or 429. */
  retried: number;
}

/** The transparency notice as GET notice answers it. */
export interface Notice {
  /** The notice version, to pass to `setConsent`. */
  noticeVersion: string | null;
  /** The parsed JSON for `json`, the text for `html` and `text`. */
  body: unknown;
}

const KEEPALIVE_BUDGET = 64000; // browsers allow 64 KiB of keepalive bodies in flight per page
const encoder = new TextEncoder();
const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as ReturnType<typeof setTimeout>),
};

/**
 * Records events to a telemetry-core server: checked against the server's schemas and
 * the user's consent, queued (persistently in browsers), sent in batches, retried.
 *
 * ```js
 * const client = new TelemetryClient({ url: "https://host/api/telemetry", token: "..." });
 * await client.recordEvent("https://example.org/schemas/page-view", 1, { page: "/home" });
 * await client.flush();
 * ```
 */
export class TelemetryClient {
  private readonly o: Required<Omit<TelemetryClientOptions,
    "url" | "token" | "userToken" | "serverSettings" | "headers" | "fetch" | "storage" | "page" |
    "onError">>;
  private readonly ep: Endpoint;
  private readonly storage: QueueStorage;
  private readonly queue: EventQueue;
  private readonly consent = new ConsentFilter();
  private readonly listeners = new Set<(error: TelemetryError) => void>();
  private readonly counts = { sent: 0, recorded: 0, duplicate: 0, notRecorded: 0, invalid: 0,
    dropped: 0, failed: 0, retried: 0 };
  private readonly ready: Promise<void>;
  private schemas: { at: number; set: SchemaSet } | null = null;
  private loading: Promise<void> | null = null;
  private lastLoadFailure = -Infinity;
  private draining: Promise<boolean> | null = null;
  private timer: unknown = null;
  private batchLimit = Infinity; // lowered by a 413 for the rest of a drain
  private unsubscribe: () => void = () => {};
  private closed = false;

  /** Inside JupyterLab: `TelemetryClient.forJupyter(app.serviceManager.serverSettings)`. */
  static forJupyter(settings: JupyterServerSettings,
                    options: Omit<TelemetryClientOptions,
                      "url" | "token" | "userToken" | "serverSettings"> = {},
  ): TelemetryClient {
    return new TelemetryClient({ ...options, serverSettings: settings });
  }

  constructor(options: TelemetryClientOptions) {
    const clock = options.clock ?? realClock;
    this.ep = endpoint(options, () => clock.now());
    this.o = {
      storageKey: options.storageKey ?? defaultStorageKey(this.ep.url, options.headers,
                                                          options.userToken),
      batchSize: options.batchSize ?? 20,
      maxBatchAgeMs: options.maxBatchAgeMs ?? 5000,
      maxBatchBytes: options.maxBatchBytes ?? KEEPALIVE_BUDGET,
      // An event that fits no batch would stop the queue behind it.
      maxEventBytes: Math.min(options.maxEventBytes ?? 16384,
                              (options.maxBatchBytes ?? KEEPALIVE_BUDGET) - 2),
      maxQueue: options.maxQueue ?? 1000,
      maxRetries: options.maxRetries ?? 5,
      retryBaseMs: options.retryBaseMs ?? 1000,
      retryMaxMs: options.retryMaxMs ?? 60000,
      schemaRefreshMs: options.schemaRefreshMs ?? 300000,
      clock,
      random: options.random ?? Math.random,
    };
    if (options.onError) this.listeners.add(options.onError);
    this.storage = options.storage ?? defaultStorage();
    this.queue = new EventQueue(this.storage, this.o.storageKey, this.o.maxQueue,
      (err) => this.report(new TelemetryError("storage", `queue storage: ${describe(err)}`)));
    const page = options.page === undefined ? browserPage() : options.page;
    if (page) this.unsubscribe = page.subscribe(() => this.onExit(), () => void this.drain());
    this.ready = this.restore();
  }

  /**
   * Records one event of schema `schemaId`, version `version`. Resolves to `queued` (it
   * will be sent), or `not_recorded` with the reason it never will be. Rejects with a
   * {@link TelemetryValidationError} for an invalid event, which is not sent.
   */
  async recordEvent(schemaId: string, version: number | string, data: Record<string, unknown>,
                    options: { timestamp?: Date } = {}): Promise<RecordResult> {
    if (this.closed) return { status: "not_recorded", reason: "closed" };
    const event = this.makeEvent(schemaId, version, data, options.timestamp);
    await this.ready;
    const schemas = await this.currentSchemas();
    if (schemas) {
      const reason = this.check(schemas, event, true);
      if (reason) {
        this.counts.notRecorded++;
        return { status: "not_recorded", reason };
      }
      event.checked = true;
    }
    if (!this.queue.push(event)) {
      this.counts.dropped++;
      this.report(new TelemetryError("queue_full",
        `queue full (${this.o.maxQueue} events): dropped an event of '${schemaId}' version ${version}`));
      return { status: "not_recorded", reason: "queue_full" };
    }
    this.schedule();
    return { status: "queued", id: event.id };
  }

  /**
   * Sends everything queued now, retrying as configured. Never rejects; resolves to
   * true when nothing is left queued.
   */
  async flush(): Promise<boolean> {
    await this.ready;
    let ok = await this.drain();
    // A drain that was under way when flush was called may have missed later events.
    if (ok && this.queue.pending().some((e) => e.checked)) ok = await this.drain();
    await this.queue.settled();
    return ok && this.queue.length === 0;
  }

  /** Stops listening to the page, flushes, and records nothing more. */
  async close(): Promise<boolean> {
    this.unsubscribe();
    const ok = await this.flush();
    this.closed = true;
    this.cancelTimer();
    return ok;
  }

  /** The counters; see {@link TelemetryStats}. */
  stats(): TelemetryStats {
    return { queued: this.queue.length, ...this.counts };
  }

  /** Calls `listener` with each background error; returns a function that stops it. */
  onError(listener: (error: TelemetryError) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The transparency notice (GET notice), for a consent UI. Rejects with a {@link TelemetryError}. */
  async getNotice(format: "json" | "html" | "text" = "json"): Promise<Notice> {
    const path = `notice?format=${encodeURIComponent(format)}`;
    const { json, res } = format === "json"
      ? await request(this.ep, "GET", path, undefined, false, this.o.clock.now)
      : await this.getText(path);
    const fromJson = (json as { notice_version?: unknown } | null)?.notice_version;
    return {
      noticeVersion: res.headers.get("X-Telemetry-Notice-Version") ??
        (typeof fromJson === "string" ? fromJson : null),
      body: json,
    };
  }

  /** The user's consent state (GET consent); updates the local filter. Rejects with a {@link TelemetryError}. */
  async getConsent(): Promise<ConsentState> {
    const { json } = await request(this.ep, "GET", "consent", undefined, false, this.o.clock.now);
    this.consent.update(json as ConsentState);
    return json as ConsentState;
  }

  /**
   * Records the user's decisions (PUT consent) against the notice version they were
   * shown, and filters by the answer from now on, queued events included.
   * `decisions` is `[{scope, granted}]` or `{[schemaId]: granted}`.
   */
  async setConsent(decisions: ConsentDecision[] | Record<string, boolean>,
                   noticeVersion: string): Promise<ConsentState> {
    const body = JSON.stringify({ notice_version: noticeVersion, decisions: toDecisions(decisions) });
    const { json } = await request(this.ep, "PUT", "consent", body, false, this.o.clock.now);
    this.consent.update(json as ConsentState);
    if (this.schemas) await this.savePolicy(this.schemas.set.list, json as ConsentState);
    return json as ConsentState;
  }

  // -- recording ---------------------------------------------------------------------

  private makeEvent(schemaId: string, version: number | string, data: unknown,
                    timestamp?: Date): QueuedEvent {
    if (data === null || typeof data !== "object" || Array.isArray(data)) {
      throw this.invalid(new TelemetryValidationError(schemaId, version, "$", "type",
        "an event is an object"));
    }
    const reserved = Object.keys(data).find((k) => k.startsWith("__"));
    if (reserved) {
      throw this.invalid(new TelemetryValidationError(schemaId, version, `$.${reserved}`, "reserved",
        "__ fields are set by the server"));
    }
    let json: string;
    try { json = JSON.stringify(data); } catch {
      throw this.invalid(new TelemetryValidationError(schemaId, version, "$", "json_type",
        "not serialisable as JSON"));
    }
    const event: QueuedEvent = {
      id: newId(), schema_id: schemaId, version, data: JSON.parse(json), checked: false, bytes: 0,
      timestamp: (timestamp ?? new Date(this.o.clock.now())).toISOString(),
    };
    event.bytes = encoder.encode(wire(event)).length;
    this.checkSize(event);
    return event;
  }

  private checkSize(e: QueuedEvent): void {
    if (e.bytes > this.o.maxEventBytes) {
      throw this.invalid(new TelemetryValidationError(e.schema_id, e.version, "$",
        "maxEventBytes", `${e.bytes} bytes, the bound is ${this.o.maxEventBytes}`));
    }
  }

  /** Why `event` must not be sent, or null; throws for an invalid event when `validate`. */
  private check(schemas: SchemaSet, event: QueuedEvent, validate: boolean) {
    if (!schemas.allows(event.schema_id, event.version)) return "not_allowed" as const;
    const consent = this.consent.check(event.schema_id, schemas.mode(event.schema_id));
    if (consent) return consent;
    if (validate) {
      try {
        schemas.validate(event.schema_id, event.version, event.data);
      } catch (err) {
        throw this.invalid(err as TelemetryValidationError);
      }
    }
    return null;
  }

  // -- schemas and consent, cached --------------------------------------------------

  /** The allowed schemas; waits for GET schemas only when there is no copy at all. */
  private async currentSchemas(): Promise<SchemaSet | null> {
    const now = this.o.clock.now();
    const stale = !this.schemas || now - this.schemas.at >= this.o.schemaRefreshMs;
    if (stale && !this.loading && now - this.lastLoadFailure >= this.o.retryBaseMs) {
      this.loading = this.loadPolicy().finally(() => { this.loading = null; });
    }
    if (!this.schemas && this.loading) await this.loading;
    return this.schemas?.set ?? null;
  }

  private async loadPolicy(): Promise<void> {
    try {
      const now = this.o.clock.now;
      const { json } = await request(this.ep, "GET", "schemas", undefined, false, now);
      const list = (json as { schemas?: unknown } | null)?.schemas;
      if (!Array.isArray(list)) throw new TelemetryError("schemas", "the answer has no schemas list");
      let consent: ConsentState | null = null;
      if (list.some((e: SchemaEntry) => e.consent === "opt-in" || e.consent === "opt-out")) {
        try {
          consent = (await request(this.ep, "GET", "consent", undefined, false, now)).json as ConsentState;
        } catch (err) {
          // No consent endpoint for this caller: no decisions known, so opt-in schemas wait.
          if (isRetryable(err)) throw err;
        }
      }
      this.consent.update(consent);
      this.schemas = { at: this.o.clock.now(), set: new SchemaSet(list as SchemaEntry[]) };
      await this.savePolicy(list as SchemaEntry[], consent);
    } catch (err) {
      this.lastLoadFailure = this.o.clock.now();
      this.report(new TelemetryError("schemas",
        `GET schemas/consent failed, events wait unchecked: ${describe(err)}`,
        { status: (err as TelemetryError).status }));
    }
  }

  // So that a page reloaded offline can still check and queue events.
  private async savePolicy(schemas: SchemaEntry[], consent: ConsentState | null): Promise<void> {
    try {
      await this.storage.setItem(`${this.o.storageKey}:policy`,
        JSON.stringify({ at: this.schemas?.at ?? 0, schemas, consent }));
    } catch (err) {
      this.report(new TelemetryError("storage", `policy storage: ${describe(err)}`));
    }
  }

  private async restore(): Promise<void> {
    try {
      const text = await this.storage.getItem(`${this.o.storageKey}:policy`);
      if (text) {
        const { at, schemas, consent } = JSON.parse(text);
        if (Array.isArray(schemas)) {
          this.consent.update(consent);
          this.schemas = { at: Number(at) || 0, set: new SchemaSet(schemas) };
        }
      }
    } catch (err) {
      this.report(new TelemetryError("storage", `policy storage: ${describe(err)}`));
    }
    const dropped = await this.queue.restore();
    this.counts.dropped += dropped;
    if (this.queue.length) this.schedule();
  }

  // -- sending -----------------------------------------------------------------------

  /** After an event is queued: a full batch goes now, any other within the batch age. */
  private schedule(): void {
    if (this.queue.pending().filter((e) => e.checked).length >= this.o.batchSize) void this.drain();
    // Also when a drain was just kicked or is under way: it may end before taking this event.
    this.armTimer(this.o.maxBatchAgeMs, false);
  }

  private armTimer(delay: number, unref: boolean): void {
    if (this.closed || this.timer !== null) return;
    this.timer = this.o.clock.setTimeout(() => { this.timer = null; void this.drain(); }, delay);
    // A Node process need not stay up for a retry; it does for a batch's age.
    if (unref) (this.timer as { unref?: () => void }).unref?.();
  }

  private cancelTimer(): void {
    if (this.timer !== null) this.o.clock.clearTimeout(this.timer);
    this.timer = null;
  }

  private drain(): Promise<boolean> {
    this.draining ??= this.drainLoop().finally(() => { this.draining = null; });
    return this.draining;
  }

  private async drainLoop(): Promise<boolean> {
    this.cancelTimer();
    this.batchLimit = this.o.batchSize;
    let waitMs = 0;
    try {
      await this.prepare();
      for (;;) {
        const batch = this.queue.take(this.batchLimit, this.o.maxBatchBytes);
        if (!batch.length) break;
        waitMs = await this.post(batch);
        if (waitMs) break;
      }
    } catch (err) { // a bug of ours; never into the application
      this.report(new TelemetryError("network", `send failed: ${describe(err)}`));
      waitMs = this.o.retryMaxMs;
    }
    if (waitMs) { // the server is down or asked us to wait: try again then, or on `online`
      this.cancelTimer();
      this.armTimer(waitMs, true);
    } else if (this.queue.pending().length) { // unchecked: GET schemas must answer first
      this.armTimer(this.o.maxBatchAgeMs, true);
    }
    return waitMs === 0;
  }

  /** Checks events queued while the schemas were unknown; drops those consent now refuses. */
  private async prepare(): Promise<void> {
    const pending = this.queue.pending();
    if (!pending.length) return;
    const schemas = await this.currentSchemas();
    if (!schemas) return;
    const drop: QueuedEvent[] = [];
    const checked: QueuedEvent[] = [];
    for (const e of pending) {
      try {
        this.checkSize(e); // again: a page with a larger bound may have stored it
        if (this.check(schemas, e, !e.checked)) {
          this.counts.notRecorded++;
          drop.push(e);
        } else if (!e.checked) {
          checked.push(e);
        }
      } catch (err) {
        drop.push(e);
        this.report(err as TelemetryError);
      }
    }
    if (drop.length) this.queue.remove(drop);
    if (checked.length) this.queue.markChecked(checked);
  }

  /** Sends one batch with retries; 0 when done with it, else how long to wait before trying again. */
  private async post(batch: QueuedEvent[]): Promise<number> {
    for (let attempt = 0; ; attempt++) {
      try {
        const { json } = await request(this.ep, "POST", "events", body(batch), false, this.o.clock.now);
        this.answered(batch, json);
        return 0;
      } catch (e) {
        const err = e as TelemetryError;
        if (err.status === 413 && batch.length > 1) { // too large: send it in halves
          const half = Math.ceil(batch.length / 2);
          this.batchLimit = half;
          this.queue.release(batch.slice(half));
          batch = batch.slice(0, half);
          attempt--;
          continue;
        }
        if (!isRetryable(err)) { // the same request would be refused again
          this.counts.failed += batch.length;
          this.queue.remove(batch);
          this.report(err);
          return 0;
        }
        const wait = err.retryAfterMs ??
          backoffDelay(attempt, this.o.retryBaseMs, this.o.retryMaxMs, this.o.random);
        if (attempt >= this.o.maxRetries || wait > this.o.retryMaxMs) {
          this.queue.release(batch); // kept, stored: sent on the next round, online or reload
          this.report(err);
          return Math.max(wait, this.o.retryMaxMs);
        }
        this.counts.retried++;
        await new Promise<void>((resolve) => this.o.clock.setTimeout(resolve, wait));
      }
    }
  }

  private answered(batch: QueuedEvent[], json: unknown): void {
    const results = (json as { results?: unknown } | null)?.results;
    batch.forEach((e, i) => {
      const r = (Array.isArray(results) ? results[i] : null) as
        { status?: string; error?: { path?: unknown; rule?: unknown } } | null;
      switch (r?.status) {
        case "recorded": this.counts.recorded++; break;
        case "duplicate": this.counts.duplicate++; break;
        case "not_recorded": this.counts.notRecorded++; break;
        case "invalid":
          this.counts.invalid++;
          this.report(new TelemetryValidationError(e.schema_id, e.version,
            String(r.error?.path ?? "$"), String(r.error?.rule ?? "schema"), "the server's answer"));
      }
    });
    this.counts.sent += batch.length;
    this.queue.remove(batch);
    // Nothing left to wait for: a Node process may exit now, not when the batch age ends.
    if (!this.queue.length) this.cancelTimer();
  }

  /** Page exit: what is pending goes out with keepalive, within the browser's 64 KiB. */
  private onExit(): void {
    let budget = Math.min(KEEPALIVE_BUDGET, this.o.maxBatchBytes);
    for (;;) {
      const batch = this.queue.take(this.o.batchSize, budget);
      if (!batch.length) return;
      const text = body(batch);
      budget -= encoder.encode(text).length;
      // Stored until answered: a page that is gone before the answer resends after reload.
      request(this.ep, "POST", "events", text, true, this.o.clock.now).then(
        ({ json }) => this.answered(batch, json),
        (err: TelemetryError) => {
          if (isRetryable(err)) this.queue.release(batch);
          else { this.counts.failed += batch.length; this.queue.remove(batch); }
          this.report(err);
        });
    }
  }

  private async getText(path: string): Promise<{ json: unknown; res: Response }> {
    const url = `${this.ep.url.replace(/\/+$/, "")}/${path}`;
    let res: Response;
    try {
      res = await this.ep.fetch(url, { ...this.ep.init, method: "GET", headers: await this.ep.headers() });
    } catch (err) {
      if (err instanceof TelemetryError) throw err;
      throw new TelemetryError("network", `GET ${path}: no answer (${describe(err)})`);
    }
    if (res.status === 401) this.ep.unauthorized?.();
    if (!res.ok) throw new TelemetryError("http", `GET ${path}: HTTP ${res.status}`, { status: res.status });
    return { json: await res.text(), res };
  }

  private invalid(error: TelemetryValidationError): TelemetryValidationError {
    this.counts.invalid++;
    return error;
  }

  private report(error: TelemetryError): void {
    for (const listener of this.listeners) {
      try { listener(error); } catch { /* a listener's error is not ours to throw */ }
    }
  }
}

/**
 * `telemetry-core:` + the URL, and the `X-Telemetry-User` the client sends, if any: the
 * stored queue and consent are one user's, so the next user of the same browser neither
 * sends them under their own name nor checks them against their own consent.
 */
function defaultStorageKey(url: string, headers: Record<string, string> = {},
                           userToken?: UserToken): string {
  const user = (typeof userToken === "string" ? tokenClaims(userToken).sub : undefined) ??
    Object.entries(headers).find(([k]) => k.toLowerCase() === "x-telemetry-user")?.[1];
  return `telemetry-core:${url}${user ? `#user=${encodeURIComponent(user)}` : ""}`;
}

function body(batch: QueuedEvent[]): string {
  return `[${batch.map(wire).join(",")}]`;
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A random (v4) UUID; `crypto.randomUUID` is missing outside secure contexts. */
function newId(): string {
  const c = globalThis.crypto;
  if (typeof c.randomUUID === "function") return c.randomUUID();
  const b = c.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
