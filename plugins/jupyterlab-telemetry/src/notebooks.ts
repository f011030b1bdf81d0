/**
 * Records what people do in notebooks, the events researchers collect with JupyterLab
 * Pioneer: notebook opened, saved, shown or hidden, scrolled; active cell changed; cell
 * added, removed, edited (debounced), executed (with success or error); clipboard copy,
 * cut and paste. Each kind is its own schema, so an administrator allows, and a user
 * consents to, each one separately. Cell text is sent; the server keeps it only where
 * the policy keeps personal data.
 */
import type { JupyterFrontEnd } from '@jupyterlab/application';
import type { Cell, ICodeCellModel } from '@jupyterlab/cells';
import {
  INotebookTracker,
  Notebook,
  NotebookActions,
  NotebookPanel
} from '@jupyterlab/notebook';
import type { IObservableList } from '@jupyterlab/observables';
import type { ICellModel } from '@jupyterlab/cells';
import { applyCellChange, type TrackedCell } from './cellList';
import { debounce, Debounced } from './debounce';
import { cellsInView, clipboardData } from './notebookDom';
import { SCHEMA } from './schemas';
import type { Telemetry } from './telemetry';

const EDIT_WAIT_MS = 2000;
const SCROLL_WAIT_MS = 1000;

export function recordNotebooks(
  tracker: INotebookTracker,
  shell: JupyterFrontEnd.IShell,
  telemetry: Telemetry
): void {
  tracker.widgetAdded.connect((_, panel) => {
    void panel.context.ready.then(() => {
      if (!panel.isDisposed) {
        new NotebookRecorder(panel, telemetry);
      }
    });
  });

  // Execution is one static signal for all notebooks.
  NotebookActions.executed.connect((_, { notebook, cell, success, error }) => {
    const panel = tracker.find(p => p.content === notebook);
    if (!panel) {
      return;
    }
    const count = (cell.model as ICodeCellModel).executionCount;
    telemetry.record(SCHEMA.cellExecuted, {
      ...describeCell(notebook, cell),
      success,
      ...(error ? { error_name: error.errorName, error_value: error.errorValue } : {}),
      ...(typeof count === 'number' ? { execution_count: count } : {}),
      source: cell.model.sharedModel.getSource(),
      path: panel.context.path
    });
  });

  // Shown or hidden: the current tab changes, or the whole window is hidden or shown.
  const visibility = (panel: unknown, visible: boolean, cause: string): void => {
    if (panel instanceof NotebookPanel && tracker.has(panel)) {
      telemetry.record(SCHEMA.notebookVisibility, {
        visible,
        cause,
        path: panel.context.path
      });
    }
  };
  shell.currentChanged?.connect((_, { oldValue, newValue }) => {
    visibility(oldValue, false, 'tab');
    visibility(newValue, true, 'tab');
  });
  document.addEventListener('visibilitychange', () => {
    visibility(shell.currentWidget, !document.hidden, 'window');
  });
}

/** The cell's index, id and type, as every cell event carries them. */
function describeCell(
  notebook: Notebook,
  cell: Cell
): Record<string, unknown> {
  return {
    cell_index: Math.max(0, notebook.widgets.indexOf(cell)),
    cell_id: cell.model.id,
    cell_type: cell.model.type
  };
}

/** A cell model's id and type, while it is alive. */
function describeModel(model: ICellModel): TrackedCell {
  return { cell_id: model.id, cell_type: model.type };
}

/** Watches one open notebook until its tab closes. */
class NotebookRecorder {
  private readonly edit: Debounced;
  private readonly scroll: Debounced;
  private editedCell: Cell | null = null;
  private readonly cells: TrackedCell[];

  constructor(
    private readonly panel: NotebookPanel,
    private readonly telemetry: Telemetry
  ) {
    const notebook = panel.content;
    this.cells = Array.from(notebook.model?.cells ?? [], describeModel);
    this.edit = debounce(() => this.recordEdit(), EDIT_WAIT_MS);
    this.scroll = debounce(() => this.recordScroll(), SCROLL_WAIT_MS);

    this.record(SCHEMA.notebookOpened, {
      cell_count: notebook.widgets.length,
      ...(panel.sessionContext.kernelPreference.name
        ? { kernel_name: panel.sessionContext.kernelPreference.name }
        : {})
    });
    panel.context.saveState.connect(this.onSave, this);
    notebook.activeCellChanged.connect(this.onActiveCell, this);
    notebook.model?.cells.changed.connect(this.onCells, this);
    this.watchEdits(notebook.activeCell);
    for (const kind of ['copy', 'cut', 'paste'] as const) {
      notebook.node.addEventListener(kind, this.onClipboard);
    }
    notebook.outerNode.addEventListener('scroll', this.onScroll, { passive: true });
    panel.disposed.connect(this.dispose, this);
  }

  private record(schemaId: string, data: Record<string, unknown>): void {
    this.telemetry.record(schemaId, { ...data, path: this.panel.context.path });
  }

  private onSave(_: unknown, state: string): void {
    if (state === 'completed') {
      this.record(SCHEMA.notebookSaved, {
        cell_count: this.panel.content.widgets.length
      });
    }
  }

  private onActiveCell(notebook: Notebook, cell: Cell | null): void {
    this.edit.flush(); // an edit belongs to the cell it was made in
    this.watchEdits(cell);
    if (cell) {
      this.record(SCHEMA.activeCellChanged, describeCell(notebook, cell));
    }
  }

  /**
   * Cells added, removed or moved. JupyterLab 4.6 reports removed cells as `undefined`
   * in `oldValues` (their models are disposed by then), so their ids and types come
   * from `this.cells`, kept in step with the list here.
   */
  private onCells(
    _: unknown,
    change: IObservableList.IChangedArgs<ICellModel>
  ): void {
    const count = this.panel.content.widgets.length;
    const event = (cell: TrackedCell, index: number) => ({
      cell_index: index,
      ...cell,
      cell_count: count
    });
    const changed = applyCellChange(this.cells, change.type, change.oldIndex,
      change.newIndex, change.oldValues.length, change.newValues.map(describeModel));
    if (change.type === 'add') {
      changed.added.forEach((cell, i) =>
        this.record(SCHEMA.cellAdded, event(cell, change.newIndex + i))
      );
    } else if (change.type === 'remove') {
      changed.removed.forEach((cell, i) =>
        this.record(SCHEMA.cellRemoved, event(cell, change.oldIndex + i))
      );
    }
  }

  // -- edits: only the active cell is typed in; one event when typing pauses -----------

  private watchEdits(cell: Cell | null): void {
    this.editedCell?.model.sharedModel.changed.disconnect(this.onSource, this);
    this.editedCell = cell;
    cell?.model.sharedModel.changed.connect(this.onSource, this);
  }

  private onSource(_: unknown, change: { sourceChange?: unknown }): void {
    if (change.sourceChange) {
      this.edit.call();
    }
  }

  private recordEdit(): void {
    const cell = this.editedCell;
    if (!cell || cell.isDisposed) {
      return;
    }
    const source = cell.model.sharedModel.getSource();
    this.record(SCHEMA.cellEdited, {
      ...describeCell(this.panel.content, cell),
      source_length: source.length,
      source
    });
  }

  // -- clipboard and scrolling: DOM events ---------------------------------------------

  private readonly onClipboard = (event: ClipboardEvent): void =>
    this.record(SCHEMA.clipboard, clipboardData(event, this.panel.content.activeCellIndex));

  private readonly onScroll = (): void => this.scroll.call();

  private recordScroll(): void {
    const notebook = this.panel.content;
    const view = cellsInView(
      notebook.outerNode.getBoundingClientRect(),
      notebook.widgets.map(cell => cell.node)
    );
    if (view) {
      this.record(SCHEMA.notebookScrolled, { ...view, cell_count: notebook.widgets.length });
    }
  }

  private dispose(): void {
    this.edit.flush();
    this.scroll.cancel();
    this.watchEdits(null);
    for (const kind of ['copy', 'cut', 'paste'] as const) {
      this.panel.content.node.removeEventListener(kind, this.onClipboard);
    }
    this.panel.content.outerNode.removeEventListener('scroll', this.onScroll);
  }
}
