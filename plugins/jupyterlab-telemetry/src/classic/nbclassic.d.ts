/**
 * The few parts of the classic notebook (nbclassic's require.js modules) this extension
 * uses, as it passes them to `load`. Typed here, not imported: nbclassic ships no types.
 */

/** A jQuery event bus: `on(name, handler)`. */
export interface EventBus {
  on(name: string, handler: (event: unknown, data: any) => void): void;
}

export interface ClassicCell {
  cell_type: string;
  id?: string;
  get_text(): string;
  input_prompt_number?: number | string | null;
  output_area?: { outputs: { output_type: string; ename?: string; evalue?: string }[] };
}

export interface ClassicNotebook {
  events: EventBus;
  notebook_path: string;
  _fully_loaded?: boolean;
  get_cells(): ClassicCell[];
  find_cell_index(cell: ClassicCell): number;
  get_selected_index(): number;
  get_selected_cell(): ClassicCell | null;
  kernel?: { name?: string } | null;
}

/** `base/js/namespace`'s default export, the page's `Jupyter`. */
export interface ClassicJupyter {
  notebook: ClassicNotebook;
  actions: { call(name: string, event?: unknown, env?: unknown): unknown };
  keyboard_manager?: unknown;
}

/** `base/js/dialog`. */
export interface ClassicDialog {
  modal(options: {
    title: string;
    body: HTMLElement;
    buttons: Record<string, { class?: string; click?: () => void }>;
    notebook?: ClassicNotebook;
    keyboard_manager?: unknown;
  }): { on(event: string, handler: () => void): void };
}

/** What main.js hands to `load`: the classic notebook's modules and the client's IIFE build. */
export interface ClassicEnvironment {
  Jupyter: ClassicJupyter;
  dialog: ClassicDialog;
  sanitize: (html: string) => string;
  baseUrl: string;
  client: typeof import('telemetry-core-client');
}
