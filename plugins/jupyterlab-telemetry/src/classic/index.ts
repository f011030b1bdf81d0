/**
 * The classic notebook (nbclassic) side of jupyterlab-telemetry: the same schemas,
 * consent question, notice and recorder as the JupyterLab extension (the modules one
 * level up, bundled into this file), on the classic notebook's events. Built by
 * esbuild into the nbextension `jupyterlab-telemetry/main.js`, an AMD module that
 * hands nbclassic's modules and the JS client's IIFE build to `load`.
 */
import { safeArgs } from '../args';
import { applyCellChange, type TrackedCell } from '../cellList';
import { recordClicks, type ClickNaming } from '../clicks';
import { askForConsentIfNeeded, ACCEPT_LABEL, CONSENT_TITLE, DECLINE_LABEL } from '../consentPrompt';
import { debounce } from '../debounce';
import { NOTICE_LABEL, renderNotice } from '../noticeView';
import { Telemetry } from '../recorder';
import { SCHEMA } from '../schemas';
import type { ClassicCell, ClassicEnvironment, ClassicNotebook } from './nbclassic';

const EDIT_WAIT_MS = 2000;
const SCROLL_WAIT_MS = 1000;

/** Classic notebook classes (no icon-font classes) and its page regions. */
const CLASSIC_NAMING: ClickNaming = {
  classPattern: /^(?!fa$|fa-)[A-Za-z][A-Za-z0-9_-]{1,80}$/,
  widgetSelector: '.cell, #notebook, #menubar, #maintoolbar, #header, .modal-dialog'
};

/** Starts recording, asks for consent if needed, and adds the notice to the Help menu. */
export function load(env: ClassicEnvironment): void {
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
  const actions = env.Jupyter.actions;
  const call = actions.call.bind(actions);
  actions.call = (name: string, event?: unknown, extra?: unknown) => {
    try {
      telemetry.record(SCHEMA.command, { command_id: String(name), args: safeArgs({}) });
      ran();
    } catch (error) {
      console.warn(`jupyterlab-telemetry: ${(error as Error).message}`);
    }
    return call(name, event, extra);
  };
}

function consentDialog(env: ClassicEnvironment, body: HTMLElement) {
  return new Promise<'accept' | 'decline' | 'closed'>(resolve => {
    let answer: 'accept' | 'decline' | 'closed' = 'closed';
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
  private readonly cells: TrackedCell[];
  private readonly edit = debounce(() => this.recordEdit(), EDIT_WAIT_MS);
  private readonly scroll = debounce(() => this.recordScroll(), SCROLL_WAIT_MS);
  private editedCell: ClassicCell | null = null;

  constructor(
    private readonly notebook: ClassicNotebook,
    private readonly telemetry: Telemetry
  ) {
    const events = notebook.events;
    this.cells = notebook.get_cells().map(describeCell);
    this.record(SCHEMA.notebookOpened, {
      cell_count: this.cells.length,
      ...(notebook.kernel?.name ? { kernel_name: notebook.kernel.name } : {})
    });
    events.on('notebook_saved.Notebook', () =>
      this.record(SCHEMA.notebookSaved, { cell_count: notebook.get_cells().length })
    );
    events.on('create.Cell', (_, { cell, index }) => this.onCells('add', index, [cell]));
    events.on('delete.Cell', (_, { index }) => this.onCells('remove', index, []));
    events.on('select.Cell', (_, { cell }) => this.onSelect(cell));
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
    this.watchEdits(notebook.get_cells()[notebook.get_selected_index()] ?? null);
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

  private onCells(type: 'add' | 'remove', index: number, added: ClassicCell[]): void {
    const change = applyCellChange(this.cells, type, index, index, type === 'remove' ? 1 : 0,
      added.map(describeCell));
    const count = this.notebook.get_cells().length;
    for (const cell of change.added) {
      this.record(SCHEMA.cellAdded, { cell_index: index, ...cell, cell_count: count });
    }
    for (const cell of change.removed) {
      this.record(SCHEMA.cellRemoved, { cell_index: index, ...cell, cell_count: count });
    }
  }

  private onSelect(cell: ClassicCell): void {
    if (cell === this.editedCell) {
      return;
    }
    this.edit.flush(); // an edit belongs to the cell it was made in
    this.watchEdits(cell);
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

  private readonly onSource = (): void => this.edit.call();

  private watchEdits(cell: ClassicCell | null): void {
    this.editedCell?.code_mirror?.off('change', this.onSource);
    this.editedCell = cell;
    cell?.code_mirror?.on('change', this.onSource);
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
    const text =
      event.type === 'paste'
        ? (event.clipboardData?.getData('text/plain') ?? '')
        : (document.getSelection()?.toString() ?? '');
    const active = this.notebook.get_selected_index();
    this.record(SCHEMA.clipboard, {
      action: event.type,
      ...(active >= 0 ? { cell_index: active } : {}),
      text_length: text.length,
      text
    });
  }

  private recordScroll(): void {
    const site = document.querySelector('#site')?.getBoundingClientRect();
    if (!site) {
      return;
    }
    const inView = Array.from(document.querySelectorAll('#notebook-container > .cell'))
      .map((node, index) => ({ rect: node.getBoundingClientRect(), index }))
      .filter(({ rect }) => rect.height > 0 && rect.bottom > site.top && rect.top < site.bottom)
      .map(({ index }) => index);
    if (inView.length > 0) {
      this.record(SCHEMA.notebookScrolled, {
        first_visible_cell: inView[0],
        last_visible_cell: inView[inView.length - 1],
        cell_count: this.cells.length
      });
    }
  }
}

/** A cell's id (nbformat 4.5, where the classic notebook keeps it) and type. */
function describeCell(cell: ClassicCell): TrackedCell {
  return { ...(cell.id ? { cell_id: cell.id } : {}), cell_type: cell.cell_type };
}
