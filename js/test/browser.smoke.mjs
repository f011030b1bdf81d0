// A browser smoke test: Debian's chromium (driven by playwright-core, which downloads
// no browser) loads dist/index.js with <script type="module"> from a node:http server
// that also answers the contract's GET schemas and POST events. Not part of `npm test`
// (it needs /usr/bin/chromium): `npm run test:browser`.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { existsSync, readFileSync } from "node:fs";
import { SCHEMAS } from "./helpers.mjs";

const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const skip = existsSync(CHROMIUM) ? false : `no browser at ${CHROMIUM}`;
const bundle = readFileSync(new URL("../dist/index.js", import.meta.url));
const iife = readFileSync(new URL("../dist/telemetry-core-client.js", import.meta.url));

let server, base, browser;
const posts = []; // {headers, events}
let failPosts = false;

const PAGE = `<!doctype html><meta charset="utf-8"><title>smoke</title>
<script type="module">
  import { TelemetryClient } from "/dist/index.js";
  window.client = TelemetryClient.forJupyter({ baseUrl: "/user/ada/", token: "jt" },
    { maxRetries: 0, maxBatchAgeMs: 600000 });
  window.ready = true;
</script>`;

// The IIFE build, as a page without modules (the classic notebook) loads it.
const CLASSIC_PAGE = `<!doctype html><meta charset="utf-8"><title>classic</title>
<script src="/dist/telemetry-core-client.js"></script>
<script>
  window.client = TelemetryCoreClient.TelemetryClient.forJupyter({ baseUrl: "/user/ada/", token: "jt" },
    { maxRetries: 0, maxBatchAgeMs: 600000, storageKey: "classic" });
  window.ready = true;
</script>`;

before(async () => {
  if (skip) return;
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => { body += c; });
    req.on("end", () => {
      const send = (status, type, text, headers = {}) => {
        res.writeHead(status, { "Content-Type": type, ...headers });
        res.end(text);
      };
      if (req.url === "/dist/index.js") return send(200, "text/javascript", bundle);
      if (req.url === "/dist/telemetry-core-client.js") return send(200, "text/javascript", iife);
      if (req.url === "/classic") return send(200, "text/html", CLASSIC_PAGE);
      if (req.url === "/") return send(200, "text/html", PAGE, { "Set-Cookie": "_xsrf=x-123; Path=/" });
      if (req.url === "/user/ada/api/telemetry/schemas") {
        return send(200, "application/json", JSON.stringify({ schemas: SCHEMAS }));
      }
      if (req.url === "/user/ada/api/telemetry/events" && req.method === "POST") {
        if (failPosts) return send(503, "application/json", "{}");
        const events = JSON.parse(body);
        posts.push({ headers: req.headers, events });
        return send(200, "application/json", JSON.stringify({
          results: events.map((e) => ({ status: "recorded", event_id: e.id })) }));
      }
      send(404, "application/json", JSON.stringify({ error: { code: "not_found", message: "no" } }));
    });
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${server.address().port}`;
  const { chromium } = await import("playwright-core");
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox",
    "--disable-background-networking", "--disable-component-update", "--no-first-run",
    "--disable-gpu", "--disable-dev-shm-usage"] });
});

after(async () => {
  await browser?.close();
  server?.closeAllConnections();
  await new Promise((r) => (server ? server.close(r) : r()));
});

async function open(context) {
  const page = await context.newPage();
  await page.goto(`${base}/`);
  await page.waitForFunction(() => window.ready === true);
  return page;
}

test("the bundle loads as a module; events go with Jupyter's token and the _xsrf cookie", { skip }, async () => {
  const context = await browser.newContext();
  const page = await open(context);
  const result = await page.evaluate(async () => {
    const r = await window.client.recordEvent("https://example.org/schemas/page-view", 1, { page: "/lab" });
    return { r, flushed: await window.client.flush(), stats: window.client.stats() };
  });
  assert.equal(result.r.status, "queued");
  assert.equal(result.flushed, true);
  assert.equal(result.stats.recorded, 1);
  const post = posts.at(-1);
  assert.equal(post.events[0].id, result.r.id);
  assert.equal(post.headers.authorization, "token jt");
  assert.equal(post.headers["x-xsrftoken"], "x-123");
  const invalid = await page.evaluate(() => window.client.recordEvent(
    "https://example.org/schemas/page-view", 1, { page: 42 }).catch((e) => [e.name, e.path, e.rule]));
  assert.deepEqual(invalid, ["TelemetryValidationError", "$.page", "type"]);
  await context.close();
});

test("events that could not go are kept in localStorage and sent after a reload", { skip }, async () => {
  const context = await browser.newContext();
  let page = await open(context);
  failPosts = true;
  const id = await page.evaluate(async () => {
    const r = await window.client.recordEvent("https://example.org/schemas/page-view", 1, { page: "/x" });
    await window.client.flush();
    return r.id;
  });
  failPosts = false;
  assert.equal(posts.some((p) => p.events.some((e) => e.id === id)), false);
  await page.reload();
  await page.waitForFunction(() => window.ready === true);
  await page.evaluate(() => window.client.flush());
  assert.equal(posts.some((p) => p.events.some((e) => e.id === id)), true);
  await context.close();
});

test("on leaving the page the pending batch goes out with keepalive", { skip }, async () => {
  const context = await browser.newContext();
  const page = await open(context);
  const id = await page.evaluate(async () =>
    (await window.client.recordEvent("https://example.org/schemas/page-view", 1, { page: "/bye" })).id);
  await page.goto("about:blank");
  for (let i = 0; i < 100 && !posts.some((p) => p.events.some((e) => e.id === id)); i++) {
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.equal(posts.some((p) => p.events.some((e) => e.id === id)), true);
  await context.close();
});

test("the IIFE build loads with a classic <script> and records the same way", { skip }, async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${base}/classic`);
  await page.waitForFunction(() => window.ready === true);
  const result = await page.evaluate(async () => {
    const r = await window.client.recordEvent("https://example.org/schemas/page-view", 1, { page: "/tree" });
    const invalid = await window.client.recordEvent("https://example.org/schemas/page-view", 1, { page: 1 })
      .catch((e) => [e instanceof TelemetryCoreClient.TelemetryValidationError, e.path]);
    return { r, invalid, flushed: await window.client.flush() };
  });
  assert.equal(result.r.status, "queued");
  assert.deepEqual(result.invalid, [true, "$.page"]);
  assert.equal(result.flushed, true);
  assert.equal(posts.at(-1).events[0].id, result.r.id);
  await context.close();
});
