import { test } from "node:test";
import assert from "node:assert/strict";
import { TelemetryValidationError, TelemetryError } from "../dist/index.js";
import { fakeApi, json, makeClient, manualClock, PAGE_VIEW } from "./helpers.mjs";

const SECRET = "SECRET-VALUE-4711";

async function rejection(data) {
  const api = fakeApi();
  const client = makeClient(api);
  const err = await client.recordEvent(PAGE_VIEW, 1, data).then(
    () => assert.fail("recordEvent resolved for an invalid event"), (e) => e);
  await client.flush();
  assert.equal(api.eventPosts.length, 0, "an invalid event is never sent");
  assert.equal(client.stats().invalid, 1);
  assert.ok(err instanceof TelemetryValidationError);
  assert.ok(err instanceof TelemetryError);
  assert.equal(err.kind, "invalid");
  assert.ok(!err.message.includes(SECRET), err.message);
  assert.ok(!JSON.stringify(err).includes(SECRET));
  return err;
}

test("a wrong type names schema, version, path and rule, never the value", async () => {
  const err = await rejection({ page: { nested: SECRET } });
  assert.equal(err.schemaId, PAGE_VIEW);
  assert.equal(err.version, 1);
  assert.equal(err.path, "$.page");
  assert.equal(err.rule, "type");
  assert.equal(err.message, "invalid event for schema 'https://example.org/schemas/page-view' version 1: $.page: type");
});

test("an enum miss is reported at its path without the value", async () => {
  const err = await rejection({ page: "/", kind: SECRET });
  assert.deepEqual([err.path, err.rule], ["$.kind", "enum"]);
});

test("an array item's path has its index", async () => {
  const err = await rejection({ page: "/", items: [1, SECRET] });
  assert.deepEqual([err.path, err.rule], ["$.items[1]", "type"]);
});

test("a missing required property", async () => {
  const err = await rejection({ kind: "a" });
  assert.deepEqual([err.path, err.rule], ["$.page", "required"]);
});

test("an undeclared property is named by additionalProperties", async () => {
  const err = await rejection({ page: "/", extra: SECRET });
  assert.deepEqual([err.path, err.rule], ["$.extra", "additionalProperties"]);
});

test("an event that is not an object, or sets __ fields, or is too large, is invalid", async () => {
  const client = makeClient(fakeApi(), { maxEventBytes: 1000 });
  for (const [data, path, rule] of [
    [[SECRET], "$", "type"],
    [{ page: "/", __timestamp__: SECRET }, "$.__timestamp__", "reserved"],
    [{ page: "/", blob: SECRET.repeat(100) }, "$", "maxEventBytes"],
  ]) {
    const err = await client.recordEvent(PAGE_VIEW, 1, data).catch((e) => e);
    assert.ok(err instanceof TelemetryValidationError, String(err));
    assert.deepEqual([err.path, err.rule], [path, rule]);
    assert.ok(!err.message.includes(SECRET));
  }
  assert.equal(client.stats().invalid, 3);
  assert.equal(client.stats().queued, 0);
});

test("a schema or version the server does not allow is dropped client side, not sent", async () => {
  const api = fakeApi();
  const client = makeClient(api);
  assert.deepEqual(await client.recordEvent("https://example.org/schemas/unknown", 1, { a: 1 }),
    { status: "not_recorded", reason: "not_allowed" });
  assert.deepEqual(await client.recordEvent(PAGE_VIEW, 2, { page: "/" }),
    { status: "not_recorded", reason: "not_allowed" });
  await client.flush();
  assert.equal(api.eventPosts.length, 0);
  assert.equal(client.stats().notRecorded, 2);
});

test("GET schemas is fetched once, then again when schemaRefreshMs has passed", async () => {
  const api = fakeApi();
  const clock = manualClock();
  const client = makeClient(api, { clock, schemaRefreshMs: 60000, maxBatchAgeMs: 1e9 });
  const schemaGets = () => api.calls.filter((c) => c.path === "schemas").length;
  for (let i = 0; i < 5; i++) await client.recordEvent(PAGE_VIEW, 1, { page: "/" });
  assert.equal(schemaGets(), 1);
  await clock.advance(59999);
  await client.recordEvent(PAGE_VIEW, 1, { page: "/" });
  assert.equal(schemaGets(), 1);
  await clock.advance(1);
  await client.recordEvent(PAGE_VIEW, 1, { page: "/" });
  assert.equal(schemaGets(), 2);
});

test("the server's invalid answer is counted and reported with path and rule", async () => {
  const api = fakeApi({ answers: [json({ results: [{ status: "invalid",
    error: { path: "$.page", rule: "format", message: "not a page" } }] })] });
  const errors = [];
  const client = makeClient(api, { onError: (e) => errors.push(e) });
  await client.recordEvent(PAGE_VIEW, 1, { page: "/" });
  assert.equal(await client.flush(), true);
  assert.equal(api.eventPosts.length, 1, "not retried");
  assert.equal(client.stats().invalid, 1);
  assert.equal(errors.length, 1);
  assert.ok(errors[0] instanceof TelemetryValidationError);
  assert.deepEqual([errors[0].path, errors[0].rule, errors[0].schemaId], ["$.page", "format", PAGE_VIEW]);
});
