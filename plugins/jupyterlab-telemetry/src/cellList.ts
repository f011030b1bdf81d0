/**
 * A notebook's cells as the recorders last saw them (id and type), kept in step with
 * the cell list's changes. Needed because a removed cell's model is gone by the time
 * the change is reported (JupyterLab 4.6 passes `undefined` for it), yet its
 * cell-removed event names its id and type. No JupyterLab imports: unit-tested in Node.
 */

/** What a cell event says about the cell itself. */
export interface TrackedCell {
  cell_id?: string;
  cell_type: string;
}

/** What one change did to the tracked list. */
export interface CellListChange {
  removed: TrackedCell[];
  added: TrackedCell[];
}

/**
 * Applies one change of the observable cell list to `cells` (in place): `add` inserts
 * `newCells` at `newIndex`; `remove` takes `oldCount` cells out at `oldIndex`; `set`
 * does both at `oldIndex`; `move` moves `oldCount` cells from `oldIndex` to `newIndex`.
 * Indices out of range are clamped, so a missed change cannot make it throw.
 */
export function applyCellChange(
  cells: TrackedCell[],
  type: string,
  oldIndex: number,
  newIndex: number,
  oldCount: number,
  newCells: TrackedCell[]
): CellListChange {
  const at = (index: number) => Math.min(Math.max(index, 0), cells.length);
  switch (type) {
    case 'add':
      cells.splice(at(newIndex), 0, ...newCells);
      return { removed: [], added: newCells };
    case 'remove':
      return { removed: cells.splice(at(oldIndex), oldCount), added: [] };
    case 'set': {
      const removed = cells.splice(at(oldIndex), oldCount, ...newCells);
      return { removed, added: newCells };
    }
    case 'move': {
      const moved = cells.splice(at(oldIndex), oldCount);
      cells.splice(at(newIndex), 0, ...moved);
      return { removed: moved, added: moved };
    }
    default:
      return { removed: [], added: [] };
  }
}
