import { test } from "node:test";
import assert from "node:assert/strict";
import { MemoryStorage } from "../dist/index.js";
import { fakeApi, makeClient, manualClock, PAGE_VIEW, settle, stored, URL_ } from "./helpers.mjs";

test("events are stored when queued and removed only once the server answered", async () => {
  let answer;
  const api = fakeApi({ answers: [() => new Promise((r) => { answer = r; })] });
  const storage = new MemoryStorage();
  const client = makeClient(api, { storage, maxBatchAgeMs: 1e9 });
  const { id } = await client.recordEvent(PAGE_VIEW, 1, { page: "/a" });
  await settle();
  assert.deepEqual(stored(storage).map((e) => e.id), [id]);
  const flushed = client.flush();
  await settle();
  assert.equal(api.eventPosts.length, 1);
  assert.deepEqual(stored(storage).map((e) => e.id), [id], "in flight, still stored");
  answer(new Response(JSON.stringify({ results: [{ status: "recorded" }] })));
  assert.equal(await flushed, true);
  assert.equal(storage.getItem(`telemetry-core:${URL_}`), null);
});

test("after a reload, stored events are sent with their ids, without a new record", async () => {
  const storage = new MemoryStorage();
  const down = fakeApi({ answers: Array.from({ length: 10 }, () => "network") });
  const first = makeClient(down, { storage, maxRetries: 0, maxBatchAgeMs: 1e9 });
  const ids = [];
  for (const page of ["/a", "/b"]) ids.push((await first.recordEvent(PAGE_VIEW, 1, { page })).id);
  assert.equal(await first.flush(), false);

  const api = fakeApi();
  const clock = manualClock();
  const second = makeClient(api, { storage, clock, maxBatchAgeMs: 5000 });
  await clock.advance(5000);
  assert.deepEqual(api.posted.flat().map((e) => e.id), ids);
  assert.equal(second.stats().recorded, 2);
  assert.deepEqual(stored(storage), []);
});

test("a write keeps what another tab stored under the same key", async () => {
  const storage = new MemoryStorage();
  const api = fakeApi();
  const tabA = makeClient(api, { storage, maxBatchAgeMs: 1e9 });
  const tabB = makeClient(api, { storage, maxBatchAgeMs: 1e9 });
  const a = await tabA.recordEvent(PAGE_VIEW, 1, { page: "/a" });
  const b = await tabB.recordEvent(PAGE_VIEW, 1, { page: "/b" });
  await settle();
  assert.deepEqual(stored(storage).map((e) => e.id).sort(), [a.id, b.id].sort());
  await tabA.flush();
  assert.deepEqual(stored(storage).map((e) => e.id), [b.id]);
});

test("while GET schemas fails, events wait unchecked; once it answers they are checked, then sent", async () => {
  const api = fakeApi({ schemasDown: true });
  const clock = manualClock();
  const errors = [];
  const client = makeClient(api, { clock, retryBaseMs: 1000, maxBatchAgeMs: 5000,
                                   onError: (e) => errors.push(e) });
  assert.equal((await client.recordEvent(PAGE_VIEW, 1, { page: "/a" })).status, "queued");
  assert.equal((await client.recordEvent("https://example.org/nope", 1, {})).status, "queued");
  assert.equal((await client.recordEvent(PAGE_VIEW, 1, { page: 5 })).status, "queued");
  await clock.advance(5000);
  assert.equal(api.eventPosts.length, 0, "nothing unchecked is sent");
  assert.equal(errors[0].kind, "schemas");
  api.schemasDown = false;
  await clock.advance(5000);
  assert.deepEqual(api.posted.flat().map((e) => e.data.page), ["/a"]);
  const s = client.stats();
  assert.deepEqual([s.recorded, s.notRecorded, s.invalid, s.queued], [1, 1, 1, 0]);
  assert.ok(errors.some((e) => e.kind === "invalid" && e.path === "$.page"));
});

test("the schemas and consent are kept, so a page reloaded offline still checks events", async () => {
  const storage = new MemoryStorage();
  const online = makeClient(fakeApi(), { storage });
  await online.recordEvent(PAGE_VIEW, 1, { page: "/" });
  await online.flush();
  const offline = fakeApi({ schemasDown: true, answers: ["network"] });
  const reloaded = makeClient(offline, { storage, maxRetries: 0, maxBatchAgeMs: 1e9 });
  assert.deepEqual(await reloaded.recordEvent("https://example.org/nope", 1, {}),
    { status: "not_recorded", reason: "not_allowed" });
  await assert.rejects(reloaded.recordEvent(PAGE_VIEW, 1, { page: 1 }), { rule: "type" });
  assert.equal((await reloaded.recordEvent(PAGE_VIEW, 1, { page: "/" })).status, "queued");
  await settle();
  assert.equal(stored(storage)[0].checked, true);
});

test("an async storage (promises, like IndexedDB wrappers) works the same", async () => {
  const data = new Map();
  const storage = {
    getItem: async (k) => data.get(k) ?? null,
    setItem: async (k, v) => { await settle(); data.set(k, v); },
    removeItem: async (k) => { data.delete(k); },
  };
  const api = fakeApi();
  const client = makeClient(api, { storage, maxBatchAgeMs: 1e9 });
  for (let i = 0; i < 5; i++) await client.recordEvent(PAGE_VIEW, 1, { page: `/${i}` });
  const count = () => JSON.parse(data.get(`telemetry-core:${URL_}`) ?? "[]").length;
  for (let i = 0; i < 100 && count() < 5; i++) await settle();
  assert.equal(count(), 5, "no write lost to another");
  await client.flush();
  assert.equal(data.has(`telemetry-core:${URL_}`), false);
});

test("a storage that throws is reported; events still go", async () => {
  const storage = new MemoryStorage();
  storage.setItem = () => { throw new Error("QuotaExceededError"); };
  const api = fakeApi();
  const errors = [];
  const client = makeClient(api, { storage, onError: (e) => errors.push(e) });
  await client.recordEvent(PAGE_VIEW, 1, { page: "/" });
  assert.equal(await client.flush(), true);
  assert.equal(api.posted.flat().length, 1);
  assert.ok(errors.some((e) => e.kind === "storage"));
});

test("with X-Telemetry-User, another user's stored events are neither adopted nor sent", async () => {
  const storage = new MemoryStorage();
  const down = fakeApi({ answers: Array.from({ length: 10 }, () => "network") });
  const ada = makeClient(down, { storage, maxRetries: 0, maxBatchAgeMs: 1e9,
                                 headers: { "X-Telemetry-User": "ada" } });
  const { id } = await ada.recordEvent(PAGE_VIEW, 1, { page: "/a" });
  assert.equal(await ada.flush(), false);
  assert.deepEqual(stored(storage, `${URL_}#user=ada`).map((e) => e.id), [id]);

  const api = fakeApi();
  const bob = makeClient(api, { storage, headers: { "x-telemetry-user": "bob" } });
  assert.equal(await bob.flush(), true);
  assert.deepEqual(api.posted.flat(), []);
  const adaAgain = makeClient(api, { storage, headers: { "X-Telemetry-User": "ada" } });
  assert.equal(await adaAgain.flush(), true);
  assert.deepEqual(api.posted.flat().map((e) => e.id), [id]);
});
