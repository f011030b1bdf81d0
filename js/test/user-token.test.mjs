// The user token: a string as it is, a function called for a fresh one before expiry and
// after a 401; no secret in the client; each user's queue apart.
import { test } from "node:test";
import assert from "node:assert/strict";
import { MemoryStorage, TelemetryClient } from "../dist/index.js";
import { PAGE_VIEW, fakeApi, json } from "./helpers.mjs";

/** An unsigned JWT-shaped token (the client reads sub and exp; only the server checks). */
function token(sub, exp, n = 0) {
  const part = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
  return `${part({ alg: "HS256", typ: "JWT" })}.${part({ sub, exp, n })}.sig`;
}

function authorizations(api) {
  return api.calls.map((c) => c.headers.Authorization);
}

test("a string user token is sent as Bearer and keys the stored queue by its subject", async () => {
  const api = fakeApi();
  const storage = new MemoryStorage();
  const ada = token("ada", 4e9);
  const client = new TelemetryClient({ url: "http://collector/api/telemetry", userToken: ada,
                                       fetch: api.fetch, storage, page: null });
  await client.recordEvent(PAGE_VIEW, 1, { page: "/" });
  await client.close();
  assert.ok(authorizations(api).every((a) => a === `Bearer ${ada}`));
  const keys = [...storage.data.keys()];
  assert.ok(keys.length > 0 && keys.every((k) => k.includes("#user=ada")), keys.join(", "));
});

test("a user token function is called again shortly before expiry and after a 401", async () => {
  let now = 1_000_000_000_000; // ms
  const clock = { now: () => now, setTimeout: (f, ms) => setTimeout(f, ms),
                  clearTimeout: (h) => clearTimeout(h) };
  let minted = 0;
  const mint = async () => token("ada", Math.floor(now / 1000) + 3600, ++minted);
  let refuse = false;
  const base = fakeApi();
  const api = { ...base, fetch: async (url, init) => {
    if (refuse) { refuse = false; base.calls.push({ headers: init.headers }); return json(
      { error: { code: "unauthorized", message: "user token refused: expired" } }, 401); }
    return base.fetch(url, init);
  } };
  const client = new TelemetryClient({ url: "http://collector/api/telemetry", userToken: mint,
                                       fetch: api.fetch, storage: new MemoryStorage(),
                                       storageKey: "ada", page: null, clock });
  await Promise.all([client.getConsent(), client.getConsent()]);
  assert.equal(minted, 1); // one call for both requests
  now += 30 * 60 * 1000; // half-way: the same token
  await client.getConsent();
  assert.equal(minted, 1);
  now += 29.5 * 60 * 1000; // within a minute of exp: a fresh one first
  await client.getConsent();
  assert.equal(minted, 2);
  refuse = true; // the server refuses it (revoked, a clock far off): the next call mints
  await assert.rejects(client.getConsent(), (e) => e.status === 401);
  await client.getConsent();
  assert.equal(minted, 3);
  const sent = authorizations(base).map((a) => JSON.parse(
    Buffer.from(a.split(".")[1], "base64url").toString()).n);
  assert.deepEqual(sent, [1, 1, 1, 2, 2, 3]);
  await client.close();
});

test("userToken and token together are refused: a page needs no client token", () => {
  assert.throws(() => new TelemetryClient({ url: "http://c/api/telemetry", token: "t",
                                            userToken: "u", page: null }), /not both/);
});
