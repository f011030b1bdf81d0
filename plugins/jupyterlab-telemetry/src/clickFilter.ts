/**
 * The logic of click recording that needs no browser (unit-tested in node): pairing
 * clicks with the commands they run, and the rate limit. The DOM side is clicks.ts.
 */

/** What was clicked, as the schema jupyterlab/click describes it. */
export interface ClickTarget {
  tag: string;
  role?: string;
  element_class?: string;
  widget_class?: string;
  label?: string;
}

/** How long after a click a command it started must have run (ms). */
export const COMMAND_WAIT_MS = 100;
/** The most clicks recorded in any one second. */
export const CLICKS_PER_SECOND = 5;

/** Allows at most `perSecond` calls in any window of one second. */
export function rateLimiter(
  perSecond: number,
  now: () => number = Date.now
): () => boolean {
  const recent: number[] = [];
  return () => {
    const t = now();
    while (recent.length && t - recent[0] >= 1000) {
      recent.shift();
    }
    if (recent.length >= perSecond) {
      return false;
    }
    recent.push(t);
    return true;
  };
}

/**
 * Pairs clicks with the commands they run: a click is passed to `record` only if no
 * command ran from the pointer going down until `waitMs` after the click (menus run
 * their command on mouse up, toolbars on the click itself), and the rate allows it.
 */
export class ClickFilter {
  private commandsRun = 0;
  private atPointerDown: number | null = null;

  constructor(
    private readonly record: (target: ClickTarget) => void,
    private readonly allow: () => boolean = rateLimiter(CLICKS_PER_SECOND),
    private readonly waitMs: number = COMMAND_WAIT_MS,
    private readonly timers: Pick<typeof globalThis, 'setTimeout'> = globalThis
  ) {}

  /** A command ran. */
  commandRan(): void {
    this.commandsRun += 1;
  }

  /** The pointer went down: a command from here on belongs to the click that follows. */
  pointerDown(): void {
    this.atPointerDown = this.commandsRun;
  }

  /** A click on `target` (described at once: the element may be gone after it). */
  click(target: ClickTarget): void {
    const before = this.atPointerDown ?? this.commandsRun;
    this.atPointerDown = null;
    this.timers.setTimeout(() => {
      if (this.commandsRun === before && this.allow()) {
        this.record(target);
      }
    }, this.waitMs);
  }
}
