// Fakes for the unit tests: a fetch that answers like the REST contract, clocks, storage.
export { MemoryStorage } from "../dist/index.js";

export const PAGE_VIEW = "https://example.org/schemas/page-view";
export const OPT_IN = "https://example.org/schemas/opt-in";
export const OPT_OUT = "https://example.org/schemas/opt-out";

/** The GET schemas list most tests use: one required, one opt-in, one opt-out schema. */
export const SCHEMAS = [
  { schema_id: PAGE_VIEW, version: 1, consent: "required", schema: {
    $schema: "https://json-schema.org/draft/2020-12/schema", type: "object",
    required: ["page"], additionalProperties: false,
    properties: {
      page: { type: "string" },
      kind: { enum: ["a", "b"] },
      items: { type: "array", items: { type: "integer" } },
      blob: { type: "string" },
    },
  } },
  { schema_id: OPT_IN, version: 1, consent: "opt-in", schema: { type: "object" } },
  { schema_id: OPT_OUT, version: 1, consent: "opt-out", schema: { type: "object" } },
];

export function json(value, status = 200, headers = {}) {
  return new Response(JSON.stringify(value), {
    status, headers: { "Content-Type": "application/json", ...headers },
  });
}

/**
 * A fetch that serves the contract from memory. `answers` are used, in order, for
 * POST events before the default (every event recorded): a Response, "network" (the
 * fetch rejects), or a function of the request's init.
 */
export function fakeApi({ schemas = SCHEMAS, consent = { schemas: [] }, answers = [],
                          schemasDown = false } = {}) {
  const api = {
    calls: [], // every request: {method, path, headers, body, keepalive}
    posted: [], // the event arrays of the POST events the fake answered 200
    answers, consent, schemasDown,
    fetch: async (url, init = {}) => {
      const u = new URL(url);
      const path = u.pathname.replace(/^.*\/api\/telemetry\//, "") + u.search;
      api.calls.push({ method: init.method, path, url, headers: init.headers, body: init.body,
                       keepalive: init.keepalive });
      if (path === "schemas") {
        if (api.schemasDown) throw new TypeError("fetch failed");
        return json({ schemas });
      }
      if (path === "consent" && init.method === "PUT") {
        const { decisions } = JSON.parse(init.body);
        const granted = new Map(decisions.map((d) => [d.scope, d.granted]));
        api.consent = { schemas: schemas.map((s) => ({ schema_id: s.schema_id, consent: s.consent,
          granted: granted.get(s.schema_id) ?? api.consent.schemas.find(
            (c) => c.schema_id === s.schema_id)?.granted ?? null })) };
        return json(api.consent);
      }
      if (path === "consent") return json(api.consent);
      if (path.startsWith("notice?format=json")) {
        return json({ notice_version: "n-1", text: "..." }, 200, { "X-Telemetry-Notice-Version": "n-1" });
      }
      if (path.startsWith("notice?format=text")) {
        return new Response("We record page views.", { headers: { "X-Telemetry-Notice-Version": "n-1" } });
      }
      if (path === "events") {
        const next = api.answers.shift();
        if (next === "network") throw new TypeError("fetch failed");
        if (typeof next === "function") return next(init);
        if (next) return next;
        const events = JSON.parse(init.body);
        api.posted.push(events);
        return json({ results: events.map((e) => ({ status: "recorded", event_id: e.id })) });
      }
      return json({ error: { code: "not_found", message: "no such endpoint" } }, 404);
    },
    /** The POST events requests made, answered or not. */
    get eventPosts() { return api.calls.filter((c) => c.path === "events"); },
  };
  return api;
}

/** Lets every promise chain and pending I/O callback run. */
export const settle = () => new Promise((r) => setImmediate(r));

/** A clock whose time moves only through `advance`, which runs the timers that fall due. */
export function manualClock(start = 1_000_000) {
  let now = start;
  let seq = 0;
  const timers = new Map();
  const clock = {
    delays: [],
    now: () => now,
    setTimeout(fn, ms) { timers.set(++seq, { at: now + ms, fn }); clock.delays.push(ms); return seq; },
    clearTimeout(id) { timers.delete(id); },
    get timers() { return timers.size; },
    async advance(ms) {
      const end = now + ms;
      for (;;) {
        await settle();
        const due = [...timers.entries()].filter(([, t]) => t.at <= end)
          .sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        now = due[1].at;
        timers.delete(due[0]);
        due[1].fn();
      }
      now = end;
      await settle();
    },
  };
  return clock;
}

/** A clock that records each wait and lets it pass at once (for retries and backoff). */
export function instantClock() {
  let now = 1_000_000;
  const clock = {
    delays: [],
    now: () => now,
    setTimeout(fn, ms) {
      clock.delays.push(ms);
      const h = setImmediate(() => { now += ms; fn(); });
      return h;
    },
    clearTimeout(h) { clearImmediate(h); },
  };
  return clock;
}

/** A page lifecycle the test drives: `page.exit()`, `page.online()`. */
export function fakePage() {
  const page = {
    subscribed: 0,
    subscribe(onExit, onOnline) {
      page.subscribed++;
      page.exit = onExit;
      page.online = onOnline;
      return () => { page.subscribed--; };
    },
  };
  return page;
}

/** The events stored under the client's default key for `url`. */
export function stored(storage, url = "https://t.example/api/telemetry") {
  return JSON.parse(storage.getItem(`telemetry-core:${url}`) ?? "[]");
}

import { TelemetryClient, MemoryStorage as Storage } from "../dist/index.js";

export const URL_ = "https://t.example/api/telemetry";

/** A client on the fake API, with no page, fake storage and a manual clock unless given. */
export function makeClient(api, options = {}) {
  return new TelemetryClient({
    url: URL_, token: "tok", fetch: api.fetch, storage: new Storage(), page: null,
    clock: manualClock(), ...options,
  });
}
