import { test } from "node:test";
import assert from "node:assert/strict";
import { MemoryStorage } from "../dist/index.js";
import { fakeApi, fakePage, json, makeClient, manualClock, PAGE_VIEW, settle, stored } from "./helpers.mjs";

test("on page exit the pending events go at once with keepalive, stored until answered", async () => {
  let answer;
  const api = fakeApi({ answers: [() => new Promise((r) => { answer = r; })] });
  const page = fakePage();
  const storage = new MemoryStorage();
  const clock = manualClock();
  const client = makeClient(api, { page, storage, clock, batchSize: 20, maxBatchAgeMs: 1e9 });
  for (const p of ["/a", "/b", "/c"]) await client.recordEvent(PAGE_VIEW, 1, { page: p });
  await settle();
  assert.equal(api.eventPosts.length, 0);
  page.exit();
  await settle();
  assert.equal(api.eventPosts.length, 1);
  assert.equal(api.eventPosts[0].keepalive, true);
  assert.equal(JSON.parse(api.eventPosts[0].body).length, 3);
  assert.equal(stored(storage).length, 3, "a page gone before the answer resends after reload");
  page.exit(); // a second exit (pagehide after hidden) sends nothing twice
  await settle();
  assert.equal(api.eventPosts.length, 1);
  answer(json({ results: [{ status: "recorded" }, { status: "recorded" }, { status: "recorded" }] }));
  await settle(); await settle();
  assert.deepEqual(stored(storage), []);
  assert.equal(client.stats().recorded, 3);
  assert.equal(clock.timers, 0, "the batch-age timer is gone with the last event");
});

test("page-exit requests stay within 64 KiB of keepalive bodies; the rest stays stored", async () => {
  const api = fakeApi({ answers: Array.from({ length: 20 }, () => () => new Promise(() => {})) });
  const page = fakePage();
  const storage = new MemoryStorage();
  const client = makeClient(api, { page, storage, batchSize: 4, maxBatchAgeMs: 1e9, maxQueue: 100 });
  for (let i = 0; i < 20; i++) await client.recordEvent(PAGE_VIEW, 1, { page: "/", blob: "x".repeat(10000) });
  // A full batch of 4 went the ordinary way and hangs (the fake never answers).
  assert.equal(api.eventPosts.length, 1);
  page.exit();
  await settle();
  const exits = api.eventPosts.filter((c) => c.keepalive);
  const bytes = exits.map((c) => Buffer.byteLength(c.body));
  assert.equal(exits.length, api.eventPosts.length - 1);
  assert.ok(exits.length >= 2, "split into several requests");
  assert.ok(bytes.reduce((a, b) => a + b) <= 64000, `${bytes}`);
  const sent = exits.flatMap((c) => JSON.parse(c.body)).length;
  assert.ok(sent >= 4 && sent < 16, `${sent}`);
  assert.equal(stored(storage).length, 20);
});

test("a page-exit request that fails leaves its events for the next send", async () => {
  const api = fakeApi({ answers: ["network"] });
  const page = fakePage();
  const errors = [];
  const client = makeClient(api, { page, maxBatchAgeMs: 1e9, onError: (e) => errors.push(e) });
  const { id } = await client.recordEvent(PAGE_VIEW, 1, { page: "/a" });
  page.exit();
  await settle();
  assert.equal(errors[0].kind, "network");
  assert.equal(await client.flush(), true);
  assert.deepEqual(api.posted.flat().map((e) => e.id), [id]);
});

test("the online event sends what waited for the network", async () => {
  const api = fakeApi({ answers: ["network"] });
  const page = fakePage();
  const client = makeClient(api, { page, maxRetries: 0, maxBatchAgeMs: 1e9 });
  await client.recordEvent(PAGE_VIEW, 1, { page: "/a" });
  assert.equal(await client.flush(), false);
  page.online();
  await settle(); await settle();
  assert.equal(api.posted.flat().length, 1);
  assert.equal(client.stats().queued, 0);
});

test("close flushes, stops listening to the page, and records nothing more", async () => {
  const api = fakeApi();
  const page = fakePage();
  const client = makeClient(api, { page, maxBatchAgeMs: 1e9 });
  assert.equal(page.subscribed, 1);
  await client.recordEvent(PAGE_VIEW, 1, { page: "/a" });
  assert.equal(await client.close(), true);
  assert.equal(page.subscribed, 0);
  assert.equal(api.posted.flat().length, 1);
  assert.deepEqual(await client.recordEvent(PAGE_VIEW, 1, { page: "/b" }),
    { status: "not_recorded", reason: "closed" });
});
