import { test } from "node:test";
import assert from "node:assert/strict";
import { fakeApi, makeClient, manualClock, PAGE_VIEW, settle } from "./helpers.mjs";

test("a full batch goes at once, as one POST of a JSON array with wire fields only", async () => {
  const api = fakeApi();
  const client = makeClient(api, { batchSize: 3 });
  const results = [];
  for (const page of ["/a", "/b", "/c"]) results.push(await client.recordEvent(PAGE_VIEW, 1, { page }));
  await settle();
  assert.equal(api.eventPosts.length, 1);
  const [batch] = api.posted;
  assert.deepEqual(batch.map((e) => e.data.page), ["/a", "/b", "/c"]);
  for (const e of batch) {
    assert.deepEqual(Object.keys(e).sort(), ["data", "id", "schema_id", "timestamp", "version"]);
    assert.match(e.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  }
  assert.deepEqual(results.map((r) => r.id), batch.map((e) => e.id));
  assert.equal(new Set(batch.map((e) => e.id)).size, 3);
  assert.equal(api.eventPosts[0].headers.Authorization, "Bearer tok");
  assert.equal(api.eventPosts[0].headers["Content-Type"], "application/json");
  assert.equal(api.eventPosts[0].url, "https://t.example/api/telemetry/events");
});

test("a batch that is not full goes when its oldest event is maxBatchAgeMs old", async () => {
  const api = fakeApi();
  const clock = manualClock();
  const client = makeClient(api, { clock, batchSize: 10, maxBatchAgeMs: 5000 });
  await client.recordEvent(PAGE_VIEW, 1, { page: "/a" });
  await clock.advance(3000);
  await client.recordEvent(PAGE_VIEW, 1, { page: "/b" }); // does not restart the wait
  await clock.advance(1999);
  assert.equal(api.eventPosts.length, 0);
  await clock.advance(1);
  assert.equal(api.eventPosts.length, 1);
  assert.deepEqual(api.posted[0].map((e) => e.data.page), ["/a", "/b"]);
});

test("the data is copied when recorded: later changes by the caller are not sent", async () => {
  const api = fakeApi();
  const client = makeClient(api);
  const data = { page: "/before" };
  await client.recordEvent(PAGE_VIEW, 1, data);
  data.page = "/after";
  await client.flush();
  assert.equal(api.posted[0][0].data.page, "/before");
});

test("flush sends everything in batches of batchSize and counts it", async () => {
  const api = fakeApi();
  const client = makeClient(api, { batchSize: 2, maxBatchAgeMs: 1e9 });
  for (let i = 0; i < 5; i++) await client.recordEvent(PAGE_VIEW, 1, { page: `/${i}` });
  assert.equal(await client.flush(), true);
  assert.deepEqual(api.posted.map((b) => b.length), [2, 2, 1]);
  assert.deepEqual(api.posted.flat().map((e) => e.data.page), ["/0", "/1", "/2", "/3", "/4"]);
  const stats = client.stats();
  assert.equal(stats.sent, 5);
  assert.equal(stats.recorded, 5);
  assert.equal(stats.queued, 0);
});

test("a request body stays within maxBatchBytes", async () => {
  const api = fakeApi();
  const client = makeClient(api, { batchSize: 100, maxBatchBytes: 2000, maxBatchAgeMs: 1e9 });
  for (let i = 0; i < 10; i++) await client.recordEvent(PAGE_VIEW, 1, { page: "x".repeat(400) });
  await client.flush();
  assert.ok(api.posted.length >= 3);
  for (const call of api.eventPosts) assert.ok(Buffer.byteLength(call.body) <= 2000, call.body.length);
  assert.equal(api.posted.flat().length, 10);
});

test("duplicate and not_recorded answers are counted and not retried", async () => {
  const api = fakeApi({ answers: [(init) => {
    const [a, b] = JSON.parse(init.body);
    return new Response(JSON.stringify({ results: [
      { status: "duplicate", event_id: a.id }, { status: "not_recorded", reason: "no_consent" }] }));
  }] });
  const client = makeClient(api);
  await client.recordEvent(PAGE_VIEW, 1, { page: "/a" });
  await client.recordEvent(PAGE_VIEW, 1, { page: "/b" });
  assert.equal(await client.flush(), true);
  assert.equal(api.eventPosts.length, 1);
  const s = client.stats();
  assert.deepEqual([s.duplicate, s.notRecorded, s.recorded, s.retried], [1, 1, 0, 0]);
});
