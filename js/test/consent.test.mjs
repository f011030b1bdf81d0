import { test } from "node:test";
import assert from "node:assert/strict";
import { fakeApi, makeClient, OPT_IN, OPT_OUT, PAGE_VIEW } from "./helpers.mjs";

function consent(states) {
  return { user: "ada", notice_version: "n-1", schemas: Object.entries(states).map(
    ([schema_id, granted]) => ({ schema_id, consent: schema_id === OPT_IN ? "opt-in" : "opt-out", granted })) };
}

async function sentSchemas(api, client) {
  await client.flush();
  return api.posted.flat().map((e) => e.schema_id);
}

test("opt-in needs a yes, opt-out goes unless refused, required always goes", async () => {
  for (const [state, expected] of [
    [{}, [PAGE_VIEW, OPT_OUT]],
    [{ [OPT_IN]: true, [OPT_OUT]: true }, [PAGE_VIEW, OPT_IN, OPT_OUT]],
    [{ [OPT_IN]: false, [OPT_OUT]: false }, [PAGE_VIEW]],
    [{ [OPT_IN]: null, [OPT_OUT]: null }, [PAGE_VIEW, OPT_OUT]],
  ]) {
    const api = fakeApi({ consent: consent(state) });
    const client = makeClient(api);
    const results = [];
    for (const id of [PAGE_VIEW, OPT_IN, OPT_OUT]) results.push(await client.recordEvent(id, 1, { page: "/" }));
    assert.deepEqual(await sentSchemas(api, client), expected, JSON.stringify(state));
    for (const [i, id] of [PAGE_VIEW, OPT_IN, OPT_OUT].entries()) {
      assert.deepEqual(results[i].status === "queued",
        expected.includes(id), `${id} ${JSON.stringify(results[i])}`);
      if (!expected.includes(id)) assert.deepEqual(results[i], { status: "not_recorded", reason: "no_consent" });
    }
  }
});

test("setConsent PUTs the decisions with the notice version and updates the filter", async () => {
  const api = fakeApi({ consent: consent({}) });
  const client = makeClient(api);
  assert.equal((await client.recordEvent(OPT_IN, 1, {})).reason, "no_consent");
  const notice = await client.getNotice();
  assert.equal(notice.noticeVersion, "n-1");
  const state = await client.setConsent({ [OPT_IN]: true, [OPT_OUT]: false }, notice.noticeVersion);
  const put = api.calls.find((c) => c.method === "PUT");
  assert.equal(put.path, "consent");
  assert.deepEqual(JSON.parse(put.body), { notice_version: "n-1", decisions: [
    { scope: OPT_IN, granted: true }, { scope: OPT_OUT, granted: false }] });
  assert.equal(state.schemas.find((s) => s.schema_id === OPT_IN).granted, true);
  assert.equal((await client.recordEvent(OPT_IN, 1, {})).status, "queued");
  assert.equal((await client.recordEvent(OPT_OUT, 1, {})).reason, "no_consent");
  assert.deepEqual(await sentSchemas(api, client), [OPT_IN]);
});

test("queued events of a schema the user then refuses are dropped before sending", async () => {
  const api = fakeApi({ consent: consent({ [OPT_OUT]: null }) });
  const client = makeClient(api, { maxBatchAgeMs: 1e9 });
  assert.equal((await client.recordEvent(OPT_OUT, 1, {})).status, "queued");
  await client.setConsent([{ scope: OPT_OUT, granted: false }], "n-1");
  assert.deepEqual(await sentSchemas(api, client), []);
  assert.equal(client.stats().notRecorded, 1);
  assert.equal(client.stats().queued, 0);
});

test("getConsent returns the state and updates the filter", async () => {
  const api = fakeApi({ consent: consent({}) });
  const client = makeClient(api);
  await client.recordEvent(PAGE_VIEW, 1, { page: "/" }); // loads schemas and consent
  api.consent = consent({ [OPT_IN]: true });
  const state = await client.getConsent();
  assert.equal(state.user, "ada");
  assert.equal((await client.recordEvent(OPT_IN, 1, {})).status, "queued");
});

test("getNotice in text format gives the text and the header's version", async () => {
  const api = fakeApi();
  const client = makeClient(api);
  const notice = await client.getNotice("text");
  assert.deepEqual(notice, { noticeVersion: "n-1", body: "We record page views." });
  assert.equal(api.calls.at(-1).path, "notice?format=text");
});
