/**
 * The classic notebook (nbclassic) side of jupyterlab-telemetry: the same schemas,
 * consent question, notice and recorder as the JupyterLab extension (the modules one
 * level up, bundled into this file), on the classic notebook's events. Built by
 * esbuild into the nbextension `jupyterlab-telemetry/main.js`, an AMD module that
 * hands nbclassic's modules and the JS client's IIFE build to `load`.
 */
import type { TrackedCell } from '../cellList';
import { recordClicks, type ClickNaming } from '../clicks';
import {
  ACCEPT_LABEL,
  type Answer,
  askForConsentIfNeeded,
  CONSENT_TITLE,
  DECLINE_LABEL
} from '../consentPrompt';
import { debounce } from '../debounce';
import { cellsInView, clipboardData } from '../notebookDom';
import { NOTICE_LABEL, renderNotice } from '../noticeView';
import { Telemetry } from '../recorder';
import { SCHEMA } from '../schemas';
import type {
  ClassicCell,
  ClassicEnvironment,
  ClassicJupyter,
  ClassicNotebook
} from './nbclassic';

const EDIT_WAIT_MS = 2000;
const SCROLL_WAIT_MS = 1000;

/** Classic notebook classes (no icon-font classes) and its page regions. */
const CLASSIC_NAMING: ClickNaming = {
  classPattern: /^(?!fa$|fa-)[A-Za-z][A-Za-z0-9_-]{1,80}$/,
  widgetSelector: '.cell, #notebook, #menubar, #maintoolbar, #header, .modal-dialog'
};

/** The dialogs' long lists scroll inside the dialog, which stays on the screen. */
const STYLE = `
.jp-telemetry-consent, #telemetry-notice-panel { max-height: 65vh; overflow-y: auto; }
.jp-telemetry-choices { padding-left: 0; list-style: none; }
.jp-telemetry-choices input { margin-right: 0.5em; }
.jp-telemetry-mode { color: #666; font-size: 90%; }
.jp-telemetry-notice summary { cursor: pointer; margin-top: 1em; }
`;

/** Starts recording, asks for consent if needed, and adds the notice to the Help menu. */
export function load(env: ClassicEnvironment): void {
  const style = document.createElement('style');
  style.textContent = STYLE;
  document.head.append(style);
  let username: string | undefined;
  const client = env.client.TelemetryClient.forJupyter(
    { baseUrl: env.baseUrl },
    { onError: error => console.warn(`jupyterlab-telemetry: ${error.message}`) }
  );
  const telemetry = new Telemetry(client, () => username);
  void fetch(`${env.baseUrl.replace(/\/*$/, '/')}api/me`, { credentials: 'same-origin' })
    .then(response => (response.ok ? response.json() : null))
    .then(me => {
      username = me?.identity?.username;
    })
    .catch(() => undefined);

  const commandListeners: (() => void)[] = [];
  recordActions(env, telemetry, () => commandListeners.forEach(listener => listener()));
  recordClicks(
    listener => commandListeners.push(listener),
    target => telemetry.record(SCHEMA.click, { ...target }),
    CLASSIC_NAMING
  );
  addNoticeToHelpMenu(env, client);
  const notebook = env.Jupyter.notebook;
  if (notebook._fully_loaded) {
    new ClassicNotebookRecorder(notebook, telemetry);
  } else {
    notebook.events.on('notebook_loaded.Notebook', () => {
      new ClassicNotebookRecorder(notebook, telemetry);
    });
  }
  void askForConsentIfNeeded(client, env.sanitize, body => consentDialog(env, body)).catch(
    (error: Error) => console.warn(`jupyterlab-telemetry: no consent dialog: ${error.message}`)
  );
}

/**
 * Every action (keyboard shortcut, toolbar button, most menu items) goes through
 * `Jupyter.actions.call`: recorded as a command with the action's name.
 */
function recordActions(env: ClassicEnvironment, telemetry: Telemetry, ran: () => void): void {
  // The page's action handler is sealed: wrap the method its class shares.
  const handler = Object.getPrototypeOf(env.Jupyter.actions) as ClassicJupyter['actions'];
  const call = handler.call;
  handler.call = function (this: unknown, name: string, ...rest: unknown[]) {
    try {
      telemetry.record(SCHEMA.command, { command_id: String(name), args: {} }); // no arguments: an action has none worth sending
      ran();
    } catch (error) {
      console.warn(`jupyterlab-telemetry: ${(error as Error).message}`);
    }
    return (call as (...args: unknown[]) => unknown).call(this, name, ...rest);
  };
}

/** The consent question in the classic notebook's (Bootstrap) dialog. */
function consentDialog(env: ClassicEnvironment, body: HTMLElement): Promise<Answer> {
  return new Promise<Answer>(resolve => {
    let answer: Answer = 'closed'; // the x, Escape, or a click outside
    const modal = env.dialog.modal({
      title: CONSENT_TITLE,
      body,
      buttons: {
        [DECLINE_LABEL]: { click: () => void (answer = 'decline') },
        [ACCEPT_LABEL]: { class: 'btn-primary', click: () => void (answer = 'accept') }
      },
      notebook: env.Jupyter.notebook,
      keyboard_manager: env.Jupyter.keyboard_manager
    });
    modal.on('hidden.bs.modal', () => resolve(answer));
  });
}

/** Help > "Telemetry: what is collected": the notice and the user's decisions, in a dialog. */
function addNoticeToHelpMenu(
  env: ClassicEnvironment,
  client: Telemetry['client']
): void {
  const menu = document.querySelector('#help_menu');
  if (!menu) {
    return;
  }
  const item = document.createElement('li');
  item.id = 'telemetry_notice';
  const link = document.createElement('a');
  link.href = '#';
  link.textContent = NOTICE_LABEL;
  link.onclick = event => {
    event.preventDefault();
    const body = document.createElement('div');
    body.id = 'telemetry-notice-panel';
    body.className = 'jp-telemetry-panel';
    void renderNotice(body, client, env.sanitize);
    env.dialog.modal({
      title: NOTICE_LABEL,
      body,
      buttons: { Close: {} },
      notebook: env.Jupyter.notebook,
      keyboard_manager: env.Jupyter.keyboard_manager
    });
  };
  item.append(link);
  menu.prepend(item);
}

/** Watches the page's notebook: the classic notebook has one per page. */
class ClassicNotebookRecorder {
  private readonly edit = debounce(() => this.recordEdit(), EDIT_WAIT_MS);
  private readonly scroll = debounce(() => this.recordScroll(), SCROLL_WAIT_MS);
  private editedCell: ClassicCell | null = null;
  private activeCell: ClassicCell | null = null;

  constructor(
    private readonly notebook: ClassicNotebook,
    private readonly telemetry: Telemetry
  ) {
    const events = notebook.events;
    this.record(SCHEMA.notebookOpened, {
      cell_count: notebook.get_cells().length,
      ...(notebook.kernel?.name ? { kernel_name: notebook.kernel.name } : {})
    });
    events.on('notebook_saved.Notebook', () =>
      this.record(SCHEMA.notebookSaved, { cell_count: notebook.get_cells().length })
    );
    // The classic notebook names the deleted cell itself (still whole), and moves cells
    // without deleting them: no list of its own to keep in step.
    events.on('create.Cell', (_, { cell, index }) => this.onCell(SCHEMA.cellAdded, cell, index));
    events.on('delete.Cell', (_, { cell, index }) =>
      this.onCell(SCHEMA.cellRemoved, cell, index)
    );
    // fired by every selection, the keyboard's and the program's ('select.Cell' is only
    // a cell asking to be selected)
    events.on('selected_cell_type_changed.Notebook', () =>
      this.onSelect(notebook.get_selected_cell())
    );
    events.on('change.Cell', (_, { cell }) => this.onSource(cell));
    events.on('finished_execute.CodeCell', (_, { cell }) => this.onExecuted(cell));
    const page = document.querySelector('#notebook');
    for (const kind of ['copy', 'cut', 'paste'] as const) {
      page?.addEventListener(kind, event => this.onClipboard(event as ClipboardEvent));
    }
    document.querySelector('#site')?.addEventListener('scroll', () => this.scroll.call(), {
      passive: true
    });
    document.addEventListener('visibilitychange', () => {
      this.edit.flush();
      this.record(SCHEMA.notebookVisibility, { visible: !document.hidden, cause: 'window' });
    });
    this.activeCell = notebook.get_selected_cell();
  }

  private record(schemaId: string, data: Record<string, unknown>): void {
    this.telemetry.record(schemaId, { ...data, path: this.notebook.notebook_path });
  }

  private describe(cell: ClassicCell): Record<string, unknown> {
    return {
      cell_index: Math.max(0, this.notebook.find_cell_index(cell)),
      ...describeCell(cell)
    };
  }

  private onCell(schemaId: string, cell: ClassicCell, index: number): void {
    const count = this.notebook.get_cells().length;
    this.record(schemaId, { cell_index: index, ...describeCell(cell), cell_count: count });
  }

  private onSelect(cell: ClassicCell | null): void {
    if (!cell || cell === this.activeCell) {
      return;
    }
    this.activeCell = cell;
    this.edit.flush(); // an edit belongs to the cell it was made in
    this.record(SCHEMA.activeCellChanged, this.describe(cell));
  }

  private onExecuted(cell: ClassicCell): void {
    const error = cell.output_area?.outputs.find(o => o.output_type === 'error');
    const count = cell.input_prompt_number;
    this.record(SCHEMA.cellExecuted, {
      ...this.describe(cell),
      success: !error,
      ...(error ? { error_name: error.ename ?? '', error_value: error.evalue ?? '' } : {}),
      ...(typeof count === 'number' ? { execution_count: count } : {}),
      source: cell.get_text()
    });
  }

  /** Typing in a cell: one event when it pauses, or when another cell is typed in. */
  private onSource(cell: ClassicCell): void {
    if (cell !== this.editedCell) {
      this.edit.flush();
      this.editedCell = cell;
    }
    this.edit.call();
  }

  private recordEdit(): void {
    const cell = this.editedCell;
    if (!cell || this.notebook.find_cell_index(cell) < 0) {
      return;
    }
    const source = cell.get_text();
    this.record(SCHEMA.cellEdited, {
      ...this.describe(cell),
      source_length: source.length,
      source
    });
  }

  private onClipboard(event: ClipboardEvent): void {
    this.record(SCHEMA.clipboard, clipboardData(event, this.notebook.get_selected_index()));
  }

  private recordScroll(): void {
    const site = document.querySelector('#site');
    const view =
      site &&
      cellsInView(
        site.getBoundingClientRect(),
        Array.from(document.querySelectorAll('#notebook-container > .cell'))
      );
    if (view) {
      this.record(SCHEMA.notebookScrolled, {
        ...view,
        cell_count: this.notebook.get_cells().length
      });
    }
  }
}

/** A cell's id (nbformat 4.5, where the classic notebook keeps it) and type. */
function describeCell(cell: ClassicCell): TrackedCell {
  return { ...(cell.id ? { cell_id: cell.id } : {}), cell_type: cell.cell_type };
}
