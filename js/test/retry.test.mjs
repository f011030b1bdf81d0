import { test } from "node:test";
import assert from "node:assert/strict";
import { fakeApi, instantClock, json, makeClient, PAGE_VIEW, stored } from "./helpers.mjs";
import { MemoryStorage } from "../dist/index.js";

const busy = () => json({ error: { code: "unavailable", message: "try later" } }, 503);

test("5xx and network errors are retried with exponential backoff; the ids never change", async () => {
  const api = fakeApi({ answers: [busy(), "network", busy()] });
  const clock = instantClock();
  const client = makeClient(api, { clock, random: () => 0, retryBaseMs: 1000, maxBatchAgeMs: 1e9 });
  await client.recordEvent(PAGE_VIEW, 1, { page: "/a" });
  await client.recordEvent(PAGE_VIEW, 1, { page: "/b" });
  assert.equal(await client.flush(), true);
  // random() = 0: half of 1000, 2000, 4000 ms (the other half is the jitter).
  assert.deepEqual(clock.delays.filter((d) => d !== 1e9), [500, 1000, 2000]);
  const bodies = api.eventPosts.map((c) => c.body);
  assert.equal(bodies.length, 4);
  assert.equal(new Set(bodies).size, 1, "each retry resends the same events, ids included");
  const s = client.stats();
  assert.deepEqual([s.retried, s.sent, s.recorded, s.failed], [3, 2, 2, 0]);
});

test("jitter adds up to as much again; the wait is capped at retryMaxMs", async () => {
  const api = fakeApi({ answers: [busy(), busy(), busy(), busy()] });
  const clock = instantClock();
  const client = makeClient(api, { clock, random: () => 0.999, retryBaseMs: 1000,
                                   retryMaxMs: 3000, maxBatchAgeMs: 1e9 });
  await client.recordEvent(PAGE_VIEW, 1, { page: "/a" });
  assert.equal(await client.flush(), true);
  const waits = clock.delays.filter((d) => d !== 1e9);
  assert.equal(waits.length, 4);
  const ceilings = [1000, 2000, 3000, 3000];
  waits.forEach((w, i) => assert.ok(w > ceilings[i] * 0.99 && w <= ceilings[i], `${w}`));
});

test("429 waits exactly what Retry-After says", async () => {
  const api = fakeApi({ answers: [json({ error: { code: "rate_limited", message: "slow down" } }, 429,
    { "Retry-After": "7" })] });
  const clock = instantClock();
  const client = makeClient(api, { clock, random: () => 0, maxBatchAgeMs: 1e9 });
  await client.recordEvent(PAGE_VIEW, 1, { page: "/a" });
  assert.equal(await client.flush(), true);
  assert.deepEqual(clock.delays.filter((d) => d !== 1e9), [7000]);
  assert.equal(api.posted.length, 1);
});

test("Retry-After as an HTTP date waits until then", async () => {
  const clock = instantClock();
  const at = new Date(clock.now() + 5000).toUTCString();
  const api = fakeApi({ answers: [json({}, 503, { "Retry-After": at })] });
  const client = makeClient(api, { clock, random: () => 0, maxBatchAgeMs: 1e9 });
  await client.recordEvent(PAGE_VIEW, 1, { page: "/a" });
  assert.equal(await client.flush(), true);
  assert.deepEqual(clock.delays.filter((d) => d !== 1e9), [5000]);
});

test("a Retry-After longer than retryMaxMs ends the round; the events stay queued and stored", async () => {
  const api = fakeApi({ answers: [json({}, 429, { "Retry-After": "600" })] });
  const clock = instantClock();
  const storage = new MemoryStorage();
  const errors = [];
  const client = makeClient(api, { clock, storage, retryMaxMs: 60000, maxBatchAgeMs: 1e9,
                                   onError: (e) => errors.push(e) });
  await client.recordEvent(PAGE_VIEW, 1, { page: "/a" });
  assert.equal(await client.flush(), false);
  assert.equal(api.eventPosts.length, 1);
  assert.equal(client.stats().queued, 1);
  assert.equal(stored(storage).length, 1);
  assert.equal(errors.length, 1);
  assert.equal(errors[0].status, 429);
  assert.equal(errors[0].retryAfterMs, 600000);
  assert.ok(clock.delays.includes(600000), "the next round is timed by Retry-After");
});

test("after maxRetries the events wait for the next round, still stored", async () => {
  const api = fakeApi({ answers: Array.from({ length: 10 }, busy) });
  const clock = instantClock();
  const storage = new MemoryStorage();
  const errors = [];
  const client = makeClient(api, { clock, storage, maxRetries: 3, maxBatchAgeMs: 1e9,
                                   onError: (e) => errors.push(e) });
  await client.recordEvent(PAGE_VIEW, 1, { page: "/a" });
  assert.equal(await client.flush(), false);
  assert.equal(api.eventPosts.length, 4); // the first try and 3 retries
  assert.equal(client.stats().retried, 3);
  assert.equal(client.stats().failed, 0);
  assert.equal(stored(storage).length, 1);
  assert.deepEqual(errors.map((e) => [e.kind, e.status]), [["http", 503]]);
});

for (const status of [400, 401, 403, 415]) {
  test(`a ${status} answer is not retried: its events are given up and counted`, async () => {
    const api = fakeApi({ answers: [json({ error: { code: "bad", message: "no" } }, status)] });
    const storage = new MemoryStorage();
    const errors = [];
    const client = makeClient(api, { clock: instantClock(), storage, maxBatchAgeMs: 1e9,
                                     onError: (e) => errors.push(e) });
    await client.recordEvent(PAGE_VIEW, 1, { page: "/a" });
    await client.recordEvent(PAGE_VIEW, 1, { page: "/b" });
    assert.equal(await client.flush(), true);
    assert.equal(api.eventPosts.length, 1);
    assert.deepEqual([client.stats().failed, client.stats().retried, client.stats().queued], [2, 0, 0]);
    assert.equal(stored(storage).length, 0);
    assert.equal(errors[0].status, status);
    assert.equal(errors[0].code, "bad");
  });
}

test("413 splits the batch in halves until the server takes it", async () => {
  const tooLarge = (init) => JSON.parse(init.body).length > 1
    ? json({ error: { code: "too_large", message: "too many events" } }, 413)
    : json({ results: [{ status: "recorded" }] });
  const api = fakeApi({ answers: Array.from({ length: 20 }, () => tooLarge) });
  const client = makeClient(api, { maxBatchAgeMs: 1e9 });
  for (let i = 0; i < 3; i++) await client.recordEvent(PAGE_VIEW, 1, { page: `/${i}` });
  assert.equal(await client.flush(), true);
  assert.deepEqual(client.stats().recorded, 3);
  // After a split, the next batches are no larger than the last one the server took.
  assert.deepEqual(api.eventPosts.map((c) => JSON.parse(c.body).length), [3, 2, 1, 1, 1]);
});

test("a background send never throws into the application, even when onError throws", async () => {
  const api = fakeApi({ answers: ["network", "network"] });
  const client = makeClient(api, { clock: instantClock(), maxRetries: 1, batchSize: 1,
                                   onError: () => { throw new Error("listener bug"); } });
  const unhandled = [];
  const onUnhandled = (e) => unhandled.push(e);
  process.on("unhandledRejection", onUnhandled);
  await client.recordEvent(PAGE_VIEW, 1, { page: "/a" }); // batch full: sent in the background
  for (let i = 0; i < 200 && client.stats().recorded === 0; i++) await new Promise((r) => setTimeout(r, 5));
  process.off("unhandledRejection", onUnhandled);
  assert.deepEqual(unhandled, []);
  // Two rounds of a try and a retry (instant clock), then the answer.
  assert.equal(api.eventPosts.length, 3);
  assert.equal(client.stats().retried, 1);
  assert.equal(client.stats().recorded, 1);
});
