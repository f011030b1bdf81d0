/**
 * What the notebook recorders of both front ends read from the page the same way: the
 * cells in view after scrolling, and a clipboard event's text. No front-end imports.
 */

/** The first and last of `cells` (in notebook order) inside `view`, or null if none is. */
export function cellsInView(
  view: DOMRect,
  cells: Element[]
): { first_visible_cell: number; last_visible_cell: number } | null {
  const inView = cells
    .map((node, index) => ({ rect: node.getBoundingClientRect(), index }))
    .filter(({ rect }) => rect.height > 0 && rect.bottom > view.top && rect.top < view.bottom)
    .map(({ index }) => index);
  return inView.length > 0
    ? { first_visible_cell: inView[0], last_visible_cell: inView[inView.length - 1] }
    : null;
}

/** A copy, cut or paste as the clipboard schema describes it; `active` is the active cell's index. */
export function clipboardData(event: ClipboardEvent, active: number): Record<string, unknown> {
  const text =
    event.type === 'paste'
      ? (event.clipboardData?.getData('text/plain') ?? '')
      : (document.getSelection()?.toString() ?? '');
  return {
    action: event.type,
    ...(active >= 0 ? { cell_index: active } : {}),
    text_length: text.length,
    text
  };
}
