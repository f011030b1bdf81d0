/**
 * Records clicks that run no command (issue #19: "clicks captured where a command does
 * not cover them"), e.g. selecting a file in the file browser. A click that runs a
 * command is already recorded as that command, so it is dropped here.
 *
 * What was clicked is described without personal data: the element's tag and ARIA role,
 * the nearest `jp-*` class on it or its ancestors, and the `jp-*` class of the Lumino
 * widget it is in. Its visible label can name files, so it is a personal-data property
 * the server drops unless the policy keeps it. At most CLICKS_PER_SECOND clicks are recorded
 * each second, so a stream of clicks cannot flood the server.
 */
import { ClickFilter, type ClickTarget } from './clickFilter';

const LABEL_MAX = 100;

/** How a front end's elements are named: which classes, and what a widget is. */
export interface ClickNaming {
  /** A class written by code, not data: short, no spaces. */
  classPattern: RegExp;
  /** The element a widget is, for `widget_class`. */
  widgetSelector: string;
}

/** JupyterLab: `jp-*` classes (not `jp-mod-*` states) and Lumino widgets. */
export const LAB_NAMING: ClickNaming = {
  classPattern: /^jp-(?!mod-)[A-Za-z0-9_-]{1,80}$/,
  widgetSelector: '.lm-Widget'
};

/** The first class matching `pattern` of `element` or its nearest ancestor. */
function nearestClass(element: Element | null, pattern: RegExp): string | undefined {
  for (let e = element; e; e = e.parentElement) {
    const found = Array.from(e.classList).find(c => pattern.test(c));
    if (found) {
      return found;
    }
  }
  return undefined;
}

/** Describes a clicked element: no personal data except `label`. */
export function describeTarget(
  element: Element,
  naming: ClickNaming = LAB_NAMING
): ClickTarget {
  const target: ClickTarget = { tag: element.tagName.toLowerCase().slice(0, 40) };
  const role = element.closest('[role]')?.getAttribute('role');
  if (role) {
    target.role = role.slice(0, 40);
  }
  const elementClass = nearestClass(element, naming.classPattern);
  if (elementClass) {
    target.element_class = elementClass;
  }
  const widgetClass = nearestClass(element.closest(naming.widgetSelector), naming.classPattern);
  if (widgetClass) {
    target.widget_class = widgetClass;
  }
  const labelled = element.closest('[aria-label],[title]');
  const label = (
    labelled?.getAttribute('aria-label') ||
    labelled?.getAttribute('title') ||
    element.textContent ||
    ''
  )
    .trim()
    .replace(/\s+/g, ' ')
    .slice(0, LABEL_MAX);
  if (label) {
    target.label = label;
  }
  return target;
}

/**
 * Passes each click that ran no command to `record`. `onCommand` registers a listener
 * the front end calls whenever a command (an action, in the classic notebook) runs.
 */
export function recordClicks(
  onCommand: (listener: () => void) => void,
  record: (target: ClickTarget) => void,
  naming: ClickNaming = LAB_NAMING,
  root: Document = document
): void {
  const filter = new ClickFilter(record);
  onCommand(() => filter.commandRan());
  // Capture phase: seen before any handler can stop it or run a command.
  root.addEventListener('pointerdown', () => filter.pointerDown(), true);
  root.addEventListener(
    'click',
    event => {
      // The second click of a double click is the same gesture as the first.
      if (event.detail <= 1 && event.target instanceof Element) {
        filter.click(describeTarget(event.target, naming));
      }
    },
    true
  );
}
