/**
 * The consent question at start, for JupyterLab and the classic notebook alike: when
 * some opt-in schemas are not granted for the current notice (first start, or a notice
 * that now collects more), show the notice and ask for them. The front end only shows
 * the body in its own dialog (`show`) and says which button was pressed.
 */
import type { TelemetryClient } from 'telemetry-core-client';
import { choiceList, decisionsIn, noticeSection, type Sanitize } from './choices';
import { ConsentView, loadConsentView, schemasToAsk } from './consent';

export const CONSENT_TITLE = 'Telemetry: your consent';
export const ACCEPT_LABEL = 'Accept selected';
export const DECLINE_LABEL = 'Decline all';

/** How the dialog ended: one of the two buttons, or closed without an answer. */
export type Answer = 'accept' | 'decline' | 'closed';

/** Shows `body` in a dialog titled CONSENT_TITLE with the two buttons; resolves with the answer. */
export type ShowConsentDialog = (body: HTMLElement) => Promise<Answer>;

/** Asks, if there is anything to ask; resolves once the user answered (or closed it). */
export async function askForConsentIfNeeded(
  client: TelemetryClient,
  sanitize: Sanitize,
  show: ShowConsentDialog
): Promise<void> {
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
  const { body, list } = consentBody(view, asked, sanitize);
  const answer = await show(body);
  if (answer === 'closed') {
    return; // nothing recorded, asked again next time
  }
  const decisions = decisionsIn(list);
  if (answer === 'decline') {
    for (const id of Object.keys(decisions)) {
      decisions[id] = false;
    }
  }
  await client.setConsent(decisions, view.noticeVersion);
}

function consentBody(
  view: ConsentView,
  asked: ConsentView['choices'],
  sanitize: Sanitize
): { body: HTMLElement; list: HTMLElement } {
  const body = document.createElement('div');
  body.className = 'jp-telemetry-consent';
  const intro = document.createElement('p');
  intro.textContent =
    'This Jupyter deployment can record how you use it, for the purposes below. ' +
    'Tick what you agree to. You can change your decisions at any time under ' +
    'Help > Telemetry: what is collected.';
  const list = choiceList(asked, () => false);
  body.append(intro, list);
  const required = view.choices.filter(c => c.consent === 'required');
  if (required.length > 0) {
    const heading = document.createElement('p');
    heading.textContent = 'Collected in any case (required by this deployment):';
    body.append(heading, choiceList(required, () => true));
  }
  body.append(noticeSection(view.noticeHtml, sanitize));
  return { body, list };
}
