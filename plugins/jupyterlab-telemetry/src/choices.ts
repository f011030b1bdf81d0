/**
 * The DOM the consent dialog and the notice panel share, in JupyterLab and in the
 * classic notebook: the sanitised notice, and one row per schema (a checkbox for what
 * the user decides, a plain line for what is required). No front-end imports: each
 * front end passes its own HTML sanitiser.
 */
import type { Choice } from './consent';

/** Makes the server's notice HTML safe to show (the front end's own sanitiser). */
export type Sanitize = (html: string) => string;

const MODE_LABEL: Record<Choice['consent'], string> = {
  required: 'Always collected (required: it cannot be refused)',
  'opt-in': 'Collected only if you agree (opt-in)',
  'opt-out': 'Collected unless you refuse (opt-out)'
};

/** The server's notice HTML, sanitised, inside a collapsed "full notice" section. */
export function noticeSection(html: string, sanitize: Sanitize, open = false): HTMLElement {
  const details = document.createElement('details');
  details.className = 'jp-telemetry-notice';
  details.open = open;
  const summary = document.createElement('summary');
  summary.textContent = 'The full notice: every property, and what happens to it';
  const body = document.createElement('div');
  body.innerHTML = sanitize(html);
  details.append(summary, body);
  return details;
}

/** A list of choices; `checked(id)` says whether a box starts ticked. */
export function choiceList(
  choices: Choice[],
  checked: (choice: Choice) => boolean
): HTMLElement {
  const list = document.createElement('ul');
  list.className = 'jp-telemetry-choices';
  for (const choice of choices) {
    const item = document.createElement('li');
    item.dataset.schemaId = choice.id;
    const label = document.createElement('label');
    if (choice.consent === 'required') {
      label.className = 'jp-telemetry-required';
    } else {
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.value = choice.id;
      box.checked = checked(choice);
      label.append(box);
    }
    const title = document.createElement('strong');
    title.textContent = choice.title;
    const mode = document.createElement('span');
    mode.className = 'jp-telemetry-mode';
    mode.textContent = MODE_LABEL[choice.consent];
    const description = document.createElement('p');
    description.textContent = choice.description;
    label.append(title, ' ', mode);
    item.append(label, description);
    list.append(item);
  }
  return list;
}

/** The decisions a choice list holds now: schema id -> ticked. */
export function decisionsIn(list: HTMLElement): Record<string, boolean> {
  const decisions: Record<string, boolean> = {};
  list.querySelectorAll<HTMLInputElement>('input[type=checkbox]').forEach(box => {
    decisions[box.value] = box.checked;
  });
  return decisions;
}
