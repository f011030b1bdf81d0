// The browser's page lifecycle, behind an interface that Node and tests fill in.

/** Tells the client when the page goes away and when the network comes back. */
export interface PageLifecycle {
  /** Calls `onExit` on page exit (`pagehide`, or hidden) and `onOnline` on `online`; returns an unsubscribe. */
  subscribe(onExit: () => void, onOnline: () => void): () => void;
}

/** The browser's page lifecycle: `pagehide`, `visibilitychange` to hidden, `online`; null outside browsers. */
export function browserPage(): PageLifecycle | null {
  const w = globalThis as unknown as {
    addEventListener?: (t: string, f: () => void) => void;
    removeEventListener: (t: string, f: () => void) => void;
    document?: { visibilityState: string; addEventListener(t: string, f: () => void): void;
                 removeEventListener(t: string, f: () => void): void };
  };
  const doc = w.document;
  if (typeof w.addEventListener !== "function" || !doc) return null;
  return {
    subscribe(onExit, onOnline) {
      const onHidden = () => { if (doc.visibilityState === "hidden") onExit(); };
      w.addEventListener!("pagehide", onExit);
      w.addEventListener!("online", onOnline);
      doc.addEventListener("visibilitychange", onHidden);
      return () => {
        w.removeEventListener("pagehide", onExit);
        w.removeEventListener("online", onOnline);
        doc.removeEventListener("visibilitychange", onHidden);
      };
    },
  };
}
