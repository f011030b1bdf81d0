/**
 * A call that runs once calls stop for `waitMs`, or at once on `flush()`: for edits and
 * scrolling, which come as streams of small changes.
 */
export interface Debounced {
  /** (Re)start the wait; `run` happens `waitMs` after the last call. */
  call(): void;
  /** Run now if a call is waiting. */
  flush(): void;
  /** Forget a waiting call. */
  cancel(): void;
}

export function debounce(
  run: () => void,
  waitMs: number,
  timers: Pick<typeof globalThis, 'setTimeout' | 'clearTimeout'> = globalThis
): Debounced {
  let handle: ReturnType<typeof setTimeout> | null = null;
  const cancel = (): void => {
    if (handle !== null) {
      timers.clearTimeout(handle);
      handle = null;
    }
  };
  return {
    call() {
      cancel();
      handle = timers.setTimeout(() => {
        handle = null;
        run();
      }, waitMs);
    },
    flush() {
      if (handle !== null) {
        cancel();
        run();
      }
    },
    cancel
  };
}
