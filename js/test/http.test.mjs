// Against a real HTTP server (node:http on 127.0.0.1, a free port) that implements
// POST events and GET schemas of the contract minimally: real fetch, real headers.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { MemoryStorage, TelemetryClient } from "../dist/index.js";
import { PAGE_VIEW, SCHEMAS, fakePage, settle } from "./helpers.mjs";

let server;
let base;
const seen = new Set(); // event ids recorded: a resent id is a duplicate
const requests = []; // {method, url, headers, events}
const script = []; // status codes (with headers) to answer the next POST events with

before(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => { body += chunk; });
    req.on("end", () => {
      const path = req.url.replace(/^.*\/api\/telemetry\//, "");
      const send = (status, value, headers = {}) => {
        res.writeHead(status, { "Content-Type": "application/json", ...headers });
        res.end(JSON.stringify(value));
      };
      const events = path === "events" ? JSON.parse(body) : null;
      requests.push({ method: req.method, url: req.url, headers: req.headers, events });
      if (path === "schemas" && req.method === "GET") return send(200, { schemas: SCHEMAS });
      if (path !== "events" || req.method !== "POST") {
        return send(404, { error: { code: "not_found", message: "no such endpoint" } });
      }
      if (req.headers["content-type"] !== "application/json") {
        return send(415, { error: { code: "content_type", message: "JSON only" } });
      }
      const next = script.shift();
      if (next) return send(next.status, { error: { code: "busy", message: "later" } }, next.headers);
      const results = events.map((e) => {
        if (seen.has(e.id)) return { status: "duplicate", event_id: e.id };
        seen.add(e.id);
        return { status: "recorded", event_id: e.id };
      });
      send(200, { results, recorded: results.filter((r) => r.status === "recorded").length });
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${server.address().port}`;
});

after(() => new Promise((r) => { server.close(r); server.closeAllConnections(); }));

const posts = () => requests.filter((r) => r.events);

test("real fetch: 503 then 429 with Retry-After are retried, then recorded", async () => {
  requests.length = 0;
  script.push({ status: 503 }, { status: 429, headers: { "Retry-After": "1" } });
  const client = new TelemetryClient({
    url: `${base}/api/telemetry`, token: "lab-portal-token", storage: new MemoryStorage(),
    page: null, retryBaseMs: 20, maxBatchAgeMs: 60000,
  });
  await client.recordEvent(PAGE_VIEW, 1, { page: "/home" });
  const started = Date.now();
  assert.equal(await client.flush(), true);
  const waited = Date.now() - started;
  assert.ok(waited >= 1000, `Retry-After: 1 honoured (waited ${waited} ms)`);
  assert.equal(posts().length, 3);
  assert.equal(new Set(posts().map((r) => r.events[0].id)).size, 1);
  assert.equal(posts()[0].headers.authorization, "Bearer lab-portal-token");
  assert.deepEqual(client.stats(), { queued: 0, sent: 1, recorded: 1, duplicate: 0, notRecorded: 0,
    invalid: 0, dropped: 0, failed: 0, retried: 2 });
});

test("real fetch with keepalive on page exit; a resend after reload is a harmless duplicate", async () => {
  requests.length = 0;
  const storage = new MemoryStorage();
  const page = fakePage();
  const options = { url: `${base}/api/telemetry`, token: "t", storage, maxBatchAgeMs: 60000 };
  const client = new TelemetryClient({ ...options, page });
  await client.recordEvent(PAGE_VIEW, 1, { page: "/a" });
  await client.recordEvent(PAGE_VIEW, 1, { page: "/b" });
  page.exit();
  for (let i = 0; i < 200 && client.stats().recorded < 2; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(client.stats().recorded, 2);
  assert.equal(posts().length, 1);
  assert.equal(posts()[0].headers["content-type"], "application/json");
  assert.equal(posts()[0].headers.authorization, "Bearer t");

  // The answer never reached a page that was gone: its events are still stored.
  const key = `telemetry-core:${base}/api/telemetry`;
  storage.setItem(key, JSON.stringify(JSON.parse(JSON.stringify(posts()[0].events))
    .map((e) => ({ ...e, checked: true, bytes: JSON.stringify(e).length }))));
  const reloaded = new TelemetryClient({ ...options, page: null });
  assert.equal(await reloaded.flush(), true);
  assert.equal(reloaded.stats().duplicate, 2);
  assert.equal(reloaded.stats().recorded, 0);
  await settle();
  assert.equal(storage.getItem(key), null);
});

test("inside Jupyter: base URL, token and XSRF headers from the server settings", async () => {
  requests.length = 0;
  const client = TelemetryClient.forJupyter(
    { baseUrl: `${base}/user/ada/`, token: "jupyter-token", xsrfToken: "xsrf-1", appendToken: false },
    { storage: new MemoryStorage(), page: null });
  await client.recordEvent(PAGE_VIEW, 1, { page: "/lab" });
  assert.equal(await client.flush(), true);
  const post = posts()[0];
  assert.equal(post.url, "/user/ada/api/telemetry/events");
  assert.equal(post.headers.authorization, "token jupyter-token");
  assert.equal(post.headers["x-xsrftoken"], "xsrf-1");
  assert.equal(requests[0].url, "/user/ada/api/telemetry/schemas");
});
