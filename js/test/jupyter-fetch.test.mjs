// JupyterLab's ServerConnection settings hold the page's own `window.fetch`; a browser
// throws "Illegal invocation" when that is called as a method of another object. The
// client must call the settings' fetch as a plain function (found by the labextension's
// browser test).
import { test } from "node:test";
import assert from "node:assert/strict";
import { TelemetryClient } from "../dist/index.js";
import { json } from "./helpers.mjs";

test("forJupyter calls the settings' fetch as a plain function, never as a method", async () => {
  const receivers = [];
  function pageFetch(input) {
    "use strict";
    receivers.push(this);
    if (this !== undefined && this !== globalThis) throw new TypeError("Illegal invocation");
    return Promise.resolve(json({ user: "ada", notice_version: "n-1", schemas: [], decisions: [] }));
  }
  const client = TelemetryClient.forJupyter({ baseUrl: "http://lab/", fetch: pageFetch },
                                            { page: null });
  const state = await client.getConsent();
  assert.equal(state.user, "ada");
  await client.getNotice("html");
  assert.equal(receivers.length, 2);
  await client.close();
});
