import { test } from "node:test";
import assert from "node:assert/strict";
import { browserPage } from "../dist/index.js";

test("browserPage: none outside a browser", () => {
  assert.equal(browserPage(), null);
});

test("browserPage: pagehide and visibilitychange to hidden are exits, online is online", (t) => {
  const win = new EventTarget();
  const doc = Object.assign(new EventTarget(), { visibilityState: "visible" });
  globalThis.addEventListener = win.addEventListener.bind(win);
  globalThis.removeEventListener = win.removeEventListener.bind(win);
  globalThis.document = doc;
  t.after(() => {
    delete globalThis.addEventListener;
    delete globalThis.removeEventListener;
    delete globalThis.document;
  });
  const seen = [];
  const unsubscribe = browserPage().subscribe(() => seen.push("exit"), () => seen.push("online"));
  doc.dispatchEvent(new Event("visibilitychange")); // to visible: not an exit
  doc.visibilityState = "hidden";
  doc.dispatchEvent(new Event("visibilitychange"));
  win.dispatchEvent(new Event("pagehide"));
  win.dispatchEvent(new Event("online"));
  assert.deepEqual(seen, ["exit", "exit", "online"]);
  unsubscribe();
  win.dispatchEvent(new Event("pagehide"));
  doc.dispatchEvent(new Event("visibilitychange"));
  win.dispatchEvent(new Event("online"));
  assert.equal(seen.length, 3);
});
