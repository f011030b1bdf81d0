// The JS client's local checks say what the server and the Python library say, in the
// same words, on the same cases: tests/fixtures/validation-cases.json is read here and
// by tests/test_decide.py (which runs the real server and record_event on it).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { TelemetryValidationError } from "../dist/index.js";
import { fakeApi, makeClient } from "./helpers.mjs";

const fixture = JSON.parse(readFileSync(
  new URL("../../tests/fixtures/validation-cases.json", import.meta.url), "utf8"));

for (const c of fixture.cases) {
  test(`wording: ${c.name}`, async () => {
    const api = fakeApi({ schemas: [{ schema_id: fixture.schema_id, version: fixture.version,
                                      consent: "required", schema: fixture.schema }] });
    const client = makeClient(api);
    const err = await client.recordEvent(fixture.schema_id, fixture.version, c.data).then(
      () => assert.fail("recordEvent resolved for an invalid event"), (e) => e);
    await client.flush();
    assert.ok(err instanceof TelemetryValidationError, String(err));
    assert.deepEqual([err.path, err.rule, err.message], [c.path, c.rule, c.message]);
    assert.ok(!JSON.stringify({ ...err, message: err.message }).includes("SECRET"));
    assert.equal(api.eventPosts.length, 0);
  });
}
