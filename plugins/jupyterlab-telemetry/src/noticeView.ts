/**
 * "Telemetry: what is collected", for JupyterLab's panel and the classic notebook's
 * dialog alike: the notice, what is recorded now, and the user's decisions, which they
 * can change at any time. No front-end imports: rendered into any element.
 */
import type { TelemetryClient } from 'telemetry-core-client';
import { choiceList, decisionsIn, noticeSection, type Sanitize } from './choices';
import { loadConsentView } from './consent';

export const NOTICE_LABEL = 'Telemetry: what is collected';
export const NOTICE_CAPTION = 'What this deployment records about your use, and your decisions';

/** (Re)loads the notice and the user's state from the server into `node`. */
export async function renderNotice(
  node: HTMLElement,
  client: TelemetryClient,
  sanitize: Sanitize
): Promise<void> {
  const status = message('Loading…');
  node.replaceChildren(status);
  let view;
  try {
    view = await loadConsentView(client);
  } catch (error) {
    status.textContent = `The telemetry notice could not be loaded: ${(error as Error).message}`;
    return;
  }
  const decidable = view.choices.filter(c => c.consent !== 'required');
  const required = view.choices.filter(c => c.consent === 'required');
  const heading = document.createElement('h1');
  heading.textContent = NOTICE_LABEL;
  node.replaceChildren(heading);
  if (view.choices.length === 0) {
    node.append(message('This deployment records no events.'));
  }
  if (decidable.length > 0) {
    const list = choiceList(decidable, c => c.recorded);
    const save = document.createElement('button');
    save.className = 'jp-mod-styled jp-mod-accept btn btn-primary';
    save.textContent = 'Save my decisions';
    save.onclick = async () => {
      save.disabled = true;
      try {
        await client.setConsent(decisionsIn(list), view.noticeVersion);
      } catch (error) {
        save.after(message(`Not saved: ${(error as Error).message}`));
        save.disabled = false;
        return;
      }
      await renderNotice(node, client, sanitize);
    };
    node.append(subheading('Your decisions'), list, save);
  }
  if (required.length > 0) {
    node.append(subheading('Always collected'), choiceList(required, () => true));
  }
  node.append(noticeSection(view.noticeHtml, sanitize, true));
}

function message(text: string): HTMLElement {
  const p = document.createElement('p');
  p.textContent = text;
  return p;
}

function subheading(text: string): HTMLElement {
  const h = document.createElement('h2');
  h.textContent = text;
  return h;
}
