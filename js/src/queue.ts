/**
 * Where the queue persists: the shape of `localStorage` (sync) or anything that returns
 * promises instead (an IndexedDB wrapper, a file in Node, a fake in tests).
 */
export interface QueueStorage {
  getItem(key: string): string | null | Promise<string | null>;
  setItem(key: string, value: string): void | Promise<void>;
  removeItem(key: string): void | Promise<void>;
}

/** A {@link QueueStorage} in memory: the default in Node, and a fake for tests. */
export class MemoryStorage implements QueueStorage {
  /** The stored strings, by key; public so tests can look. */
  readonly data = new Map<string, string>();
  getItem(key: string): string | null { return this.data.get(key) ?? null; }
  setItem(key: string, value: string): void { this.data.set(key, value); }
  removeItem(key: string): void { this.data.delete(key); }
}

/** `localStorage` where there is one that works, else a {@link MemoryStorage}. */
export function defaultStorage(): QueueStorage {
  try {
    const ls = (globalThis as { localStorage?: Storage }).localStorage;
    if (ls) {
      ls.getItem("telemetry-core-probe"); // throws in sandboxed frames and with storage off
      return ls;
    }
  } catch { /* fall through */ }
  return new MemoryStorage();
}

/** An event as queued and persisted: the wire fields plus what the client knows of it. */
export interface QueuedEvent {
  id: string;
  schema_id: string;
  version: number | string;
  data: Record<string, unknown>;
  timestamp: string;
  /** Allowed, consented and valid when recorded; false when the schemas were unknown then. */
  checked: boolean;
  /** Its JSON size on the wire, in bytes. */
  bytes: number;
}

/** The JSON of an event as POST events takes it. */
export function wire(e: QueuedEvent): string {
  return JSON.stringify({
    schema_id: e.schema_id, version: e.version, data: e.data, timestamp: e.timestamp, id: e.id,
  });
}

/**
 * The bounded event queue, mirrored into a {@link QueueStorage}. Events stay stored until
 * the server answered for them. Writes merge with what is stored (another tab's events
 * stay), and are chained so that async storages never interleave them.
 */
export class EventQueue {
  private items: QueuedEvent[] = [];
  private inflight = new Set<string>();
  private writes: Promise<void> = Promise.resolve();

  constructor(private storage: QueueStorage, private key: string, readonly max: number,
              private onStorageError: (err: unknown) => void) {}

  /** Adopts what an earlier page or process left stored; returns how many were dropped. */
  async restore(): Promise<number> {
    let stored: QueuedEvent[] = [];
    try {
      stored = parse(await this.storage.getItem(this.key));
    } catch (err) { this.onStorageError(err); }
    const known = new Set(this.items.map((e) => e.id));
    const adopted = stored.filter((e) => !known.has(e.id));
    this.items = [...adopted, ...this.items];
    const dropped = Math.max(0, this.items.length - this.max);
    if (dropped) this.items.splice(0, dropped); // the oldest go first
    return dropped;
  }

  /** How many events are queued, in flight included. */
  get length(): number { return this.items.length; }

  /** The queued events that are not in flight, oldest first. */
  pending(): QueuedEvent[] { return this.items.filter((e) => !this.inflight.has(e.id)); }

  /** Queues an event; false when the queue is full. */
  push(e: QueuedEvent): boolean {
    if (this.items.length >= this.max) return false;
    this.items.push(e);
    this.persist([e], []);
    return true;
  }

  /**
   * Marks up to `n` checked, pending events as in flight, oldest first, as long as their
   * JSON array stays within `maxBytes`; returns them.
   */
  take(n: number, maxBytes: number): QueuedEvent[] {
    const batch: QueuedEvent[] = [];
    let bytes = 2; // "[" and "]"
    for (const e of this.items) {
      if (batch.length >= n) break;
      if (this.inflight.has(e.id) || !e.checked) continue;
      if (bytes + e.bytes + 1 > maxBytes) break;
      bytes += e.bytes + 1;
      batch.push(e);
    }
    for (const e of batch) this.inflight.add(e.id);
    return batch;
  }

  /** Puts events back to pending, in their place, after a send that got no answer. */
  release(batch: QueuedEvent[]): void {
    for (const e of batch) this.inflight.delete(e.id);
  }

  /** Marks events checked (their schema is now known to allow them) and stores that. */
  markChecked(events: QueuedEvent[]): void {
    for (const e of events) e.checked = true;
    this.persist(events, []);
  }

  /** Forgets events for good: answered by the server, or dropped. */
  remove(events: QueuedEvent[]): void {
    const ids = new Set(events.map((e) => e.id));
    this.items = this.items.filter((e) => !ids.has(e.id));
    for (const id of ids) this.inflight.delete(id);
    this.persist([], [...ids]);
  }

  /** Resolves when every write so far reached the storage. */
  settled(): Promise<void> { return this.writes; }

  private persist(upsert: QueuedEvent[], removed: string[]): void {
    this.writes = this.writes.then(async () => {
      try {
        const gone = new Set(removed);
        const byId = new Map(upsert.map((e) => [e.id, e]));
        const merged = parse(await this.storage.getItem(this.key))
          .filter((e) => !gone.has(e.id))
          .map((e) => { const u = byId.get(e.id); byId.delete(e.id); return u ?? e; });
        merged.push(...byId.values());
        const kept = merged.slice(Math.max(0, merged.length - this.max));
        if (kept.length) await this.storage.setItem(this.key, JSON.stringify(kept));
        else await this.storage.removeItem(this.key);
      } catch (err) { this.onStorageError(err); }
    });
  }
}

function parse(text: string | null): QueuedEvent[] {
  if (!text) return [];
  const value: unknown = JSON.parse(text);
  return Array.isArray(value)
    ? value.filter((e): e is QueuedEvent => !!e && typeof e.id === "string" &&
        typeof e.schema_id === "string" && typeof e.bytes === "number")
    : [];
}
