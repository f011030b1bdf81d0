/**
 * The dialog at start: when some opt-in schemas are not granted for the current notice
 * (first start, or a notice that now collects more), show the notice and ask for them.
 */
import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';
import type { TelemetryClient } from 'telemetry-core-client';
import { choiceList, decisionsIn, noticeSection } from './choices';
import { ConsentView, loadConsentView, schemasToAsk } from './consent';

export const ACCEPT_LABEL = 'Accept selected';
export const DECLINE_LABEL = 'Decline all';

/** Asks, if there is anything to ask; resolves once the user answered (or closed it). */
export async function askForConsentIfNeeded(client: TelemetryClient): Promise<void> {
  const state = await client.getConsent();
  const toAsk = new Set(schemasToAsk(state));
  if (toAsk.size === 0) {
    return;
  }
  const view = await loadConsentView(client);
  const asked = view.choices.filter(c => toAsk.has(c.id));
  if (asked.length === 0) {
    return; // the notice changed between the two requests; ask on the next start
  }
  const body = new ConsentBody(view, asked);
  const result = await showDialog({
    title: 'Telemetry: your consent',
    body,
    buttons: [
      Dialog.cancelButton({ label: DECLINE_LABEL }),
      Dialog.okButton({ label: ACCEPT_LABEL })
    ],
    hasClose: true
  });
  const label = result.button.label;
  if (label !== ACCEPT_LABEL && label !== DECLINE_LABEL) {
    return; // closed without an answer: nothing recorded, asked again next time
  }
  const decisions = body.getValue();
  if (label === DECLINE_LABEL) {
    for (const id of Object.keys(decisions)) {
      decisions[id] = false;
    }
  }
  await client.setConsent(decisions, view.noticeVersion);
}

class ConsentBody extends Widget implements Dialog.IBodyWidget<Record<string, boolean>> {
  private readonly list: HTMLElement;

  constructor(view: ConsentView, asked: ConsentView['choices']) {
    super();
    this.addClass('jp-telemetry-consent');
    const intro = document.createElement('p');
    intro.textContent =
      'This Jupyter deployment can record how you use it, for the purposes below. ' +
      'Tick what you agree to. You can change your decisions at any time under ' +
      'Help > Telemetry: what is collected.';
    this.list = choiceList(asked, () => false);
    const required = view.choices.filter(c => c.consent === 'required');
    this.node.append(intro, this.list);
    if (required.length > 0) {
      const heading = document.createElement('p');
      heading.textContent = 'Collected in any case (required by this deployment):';
      this.node.append(heading, choiceList(required, () => true));
    }
    this.node.append(noticeSection(view.noticeHtml));
  }

  getValue(): Record<string, boolean> {
    return decisionsIn(this.list);
  }
}
