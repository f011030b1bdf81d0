import { test } from "node:test";
import assert from "node:assert/strict";
import { MemoryStorage } from "../dist/index.js";
import { fakeApi, makeClient, PAGE_VIEW, settle, stored, URL_ } from "./helpers.mjs";

test("a full queue drops new events, counts them and says so", async () => {
  const api = fakeApi({ answers: Array.from({ length: 10 }, () => "network") });
  const storage = new MemoryStorage();
  const errors = [];
  const client = makeClient(api, { storage, maxQueue: 3, maxBatchAgeMs: 1e9,
                                   onError: (e) => errors.push(e) });
  for (let i = 0; i < 3; i++) assert.equal((await client.recordEvent(PAGE_VIEW, 1, { page: "/" })).status, "queued");
  assert.deepEqual(await client.recordEvent(PAGE_VIEW, 1, { page: "/" }),
    { status: "not_recorded", reason: "queue_full" });
  await settle();
  assert.equal(client.stats().dropped, 1);
  assert.equal(client.stats().queued, 3);
  assert.equal(stored(storage).length, 3);
  assert.equal(errors[0].kind, "queue_full");
});

test("more stored events than maxQueue: the oldest are dropped on restore, and counted", async () => {
  const storage = new MemoryStorage();
  const events = Array.from({ length: 5 }, (_, i) => ({ id: `e${i}`, schema_id: PAGE_VIEW, version: 1,
    data: { page: "/" }, timestamp: "2026-12-03T10:00:00Z", checked: true, bytes: 100 }));
  storage.setItem(`telemetry-core:${URL_}`, JSON.stringify(events));
  const api = fakeApi();
  const client = makeClient(api, { storage, maxQueue: 3, maxBatchAgeMs: 1e9 });
  assert.equal(await client.flush(), true);
  assert.deepEqual(api.posted.flat().map((e) => e.id), ["e2", "e3", "e4"]);
  assert.equal(client.stats().dropped, 2);
});

test("a stored event larger than this page's bound is dropped as invalid, not stuck at the head", async () => {
  const storage = new MemoryStorage();
  const big = { id: "big", schema_id: PAGE_VIEW, version: 1, data: { page: "x".repeat(3000) },
    timestamp: "2026-12-03T10:00:00Z", checked: true, bytes: 3100 };
  const small = { ...big, id: "small", data: { page: "/" }, bytes: 100 };
  storage.setItem(`telemetry-core:${URL_}`, JSON.stringify([big, small]));
  const api = fakeApi();
  const errors = [];
  const client = makeClient(api, { storage, maxBatchBytes: 2000, maxBatchAgeMs: 1e9,
                                   onError: (e) => errors.push(e) });
  assert.equal(await client.flush(), true);
  assert.deepEqual(api.posted.flat().map((e) => e.id), ["small"]);
  assert.equal(client.stats().invalid, 1);
  assert.equal(errors[0].rule, "maxEventBytes");
});
