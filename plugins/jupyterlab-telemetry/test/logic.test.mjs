// Unit tests of the extension's logic that needs no JupyterLab: command arguments made
// safe, which opt-in schemas to ask about, the notice joined with the consent state,
// and the debounce of edits and scrolling. Run with `npm test` (on the tsc output, lib/).
import { test } from "node:test";
import assert from "node:assert/strict";
import { safeArgs } from "../lib/args.js";
import { choicesFrom, schemasToAsk } from "../lib/consent.js";
import { debounce } from "../lib/debounce.js";
import { ClickFilter, rateLimiter } from "../lib/clickFilter.js";

test("safeArgs keeps plain JSON and drops what cannot be sent", () => {
  class Widget { constructor() { this.node = {}; } }
  const args = { path: "a.ipynb", n: 3, ok: true, none: null, nan: NaN, fn: () => 1,
                 widget: new Widget(), list: [1, "x", () => 2], nested: { deep: { deeper: { x: 1 } } } };
  assert.deepEqual(safeArgs(args), {
    path: "a.ipynb", n: 3, ok: true, none: null, list: [1, "x"], nested: { deep: {} } });
});

test("safeArgs bounds strings, keys and items", () => {
  const many = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, i]));
  assert.equal(Object.keys(safeArgs(many)).length, 20);
  assert.equal(safeArgs({ s: "x".repeat(10000) }).s.length, 256);
  assert.equal(safeArgs({ l: Array.from({ length: 99 }, () => 0) }).l.length, 20);
  for (const notAnObject of [undefined, null, "s", 3, [1, 2]]) {
    assert.deepEqual(safeArgs(notAnObject), {});
  }
});

const A = "https://example.org/a", B = "https://example.org/b", C = "https://example.org/c";
const R = "https://example.org/required", O = "https://example.org/opt-out";

function state(schemas, decisions = []) {
  return { notice_version: "n-2", schemas, decisions };
}

test("schemasToAsk: opt-in schemas not granted and not refused", () => {
  const s = state([
    { schema_id: A, consent: "opt-in", granted: false, recorded: false },   // never asked
    { schema_id: B, consent: "opt-in", granted: true, recorded: true },     // yes still counts
    { schema_id: C, consent: "opt-in", granted: false, recorded: false },   // refused
    { schema_id: R, consent: "required", granted: false, recorded: true },  // never asked
    { schema_id: O, consent: "opt-out", granted: null, recorded: true },    // never asked
  ], [{ scope: C, granted: false, notice_version: "n-1" }]);
  assert.deepEqual(schemasToAsk(s), [A]);
});

test("schemasToAsk: a yes that no longer counts (the notice collects more) is asked again", () => {
  const s = state([{ schema_id: A, consent: "opt-in", granted: false, recorded: false }],
                  [{ scope: A, granted: true, notice_version: "n-1" }]);
  assert.deepEqual(schemasToAsk(s), [A]);
});

test("schemasToAsk: the newest decision on a scope wins", () => {
  const schemas = [{ schema_id: A, consent: "opt-in", granted: false, recorded: false }];
  const yesThenNo = [{ scope: A, granted: true }, { scope: A, granted: false }];
  const noThenYes = [{ scope: A, granted: false }, { scope: A, granted: true }];
  assert.deepEqual(schemasToAsk(state(schemas, yesThenNo)), []);
  assert.deepEqual(schemasToAsk(state(schemas, noThenYes)), [A]);
});

test("choicesFrom joins the notice with what is recorded now, once per schema id", () => {
  const notice = { schemas: [
    { id: A, version: 1, title: "A", description: "a", consent: "opt-in" },
    { id: A, version: 2, title: "A2", description: "a2", consent: "opt-in" },
    { id: R, version: 1, title: "R", description: "r", consent: "required" },
    { id: "https://example.org/gone", version: 1, title: "G", description: "g", consent: "opt-in" },
  ] };
  const s = state([{ schema_id: A, consent: "opt-in", granted: true, recorded: true },
                   { schema_id: R, consent: "required", granted: false, recorded: true }]);
  assert.deepEqual(choicesFrom(notice, s), [
    { id: A, title: "A", description: "a", consent: "opt-in", recorded: true },
    { id: R, title: "R", description: "r", consent: "required", recorded: true }]);
});

function fakeTimers() {
  const pending = new Map();
  let next = 1;
  return {
    setTimeout: (fn) => { pending.set(next, fn); return next++; },
    clearTimeout: (h) => { pending.delete(h); },
    fire() { const fns = [...pending.values()]; pending.clear(); fns.forEach(f => f()); },
    get size() { return pending.size; },
  };
}

test("debounce runs once after the calls stop, or at once on flush", () => {
  const timers = fakeTimers();
  let runs = 0;
  const d = debounce(() => runs++, 2000, timers);
  d.call(); d.call(); d.call();
  assert.equal(timers.size, 1);
  timers.fire();
  assert.equal(runs, 1);
  d.flush();                 // nothing waiting: nothing runs
  assert.equal(runs, 1);
  d.call(); d.flush();
  assert.equal(runs, 2);
  assert.equal(timers.size, 0);
  d.call(); d.cancel(); timers.fire();
  assert.equal(runs, 2);
});

// Clicks: recorded only when no command ran, and at most so many a second.

test("ClickFilter records a click that ran no command, drops one that ran a command", () => {
  const recorded = [], timers = fakeTimers();
  const filter = new ClickFilter(t => recorded.push(t.tag), () => true, 100, timers);
  filter.pointerDown(); filter.click({ tag: "li" }); timers.fire();
  filter.pointerDown(); filter.click({ tag: "button" }); filter.commandRan(); timers.fire();
  // a menu runs its command on mouse up, before the click
  filter.pointerDown(); filter.commandRan(); filter.click({ tag: "div" }); timers.fire();
  filter.click({ tag: "span" }); timers.fire();  // a click from the keyboard: no pointer
  assert.deepEqual(recorded, ["li", "span"]);
});

test("rateLimiter allows at most n calls in any second", () => {
  let now = 0;
  const allow = rateLimiter(3, () => now);
  const at = (t) => { now = t; return allow(); };
  assert.deepEqual([at(0), at(10), at(20), at(30), at(999)], [true, true, true, false, false]);
  // each call at t frees its slot at t + 1000
  assert.deepEqual([at(1000), at(1005), at(1010), at(1015)], [true, false, true, false]);
});

test("applyCellChange keeps removed cells' ids, which the change itself no longer has", async () => {
  const { applyCellChange } = await import("../lib/cellList.js");
  const cell = (id) => ({ cell_id: id, cell_type: "code" });
  const cells = [cell("a"), cell("b")];
  assert.deepEqual(applyCellChange(cells, "add", -1, 1, 0, [cell("n")]),
                   { removed: [], added: [cell("n")] });
  assert.deepEqual(cells.map(c => c.cell_id), ["a", "n", "b"]);
  // JupyterLab 4.6: oldValues are [undefined]; only the count and index are used
  assert.deepEqual(applyCellChange(cells, "remove", 1, -1, 1, []).removed, [cell("n")]);
  assert.deepEqual(applyCellChange(cells, "move", 0, 1, 1, []).added, [cell("a")]);
  assert.deepEqual(cells.map(c => c.cell_id), ["b", "a"]);
  assert.deepEqual(applyCellChange(cells, "set", 0, 0, 1, [cell("s")]).removed, [cell("b")]);
  // an index past the end (a missed change) is clamped, never thrown on
  assert.deepEqual(applyCellChange(cells, "remove", 9, -1, 1, []).removed, []);
  assert.deepEqual(cells.map(c => c.cell_id), ["s", "a"]);
});
