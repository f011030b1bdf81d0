/**
 * The consent question at start (consentPrompt.ts) in JupyterLab's dialog.
 */
import { Dialog, Sanitizer, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';
import type { TelemetryClient } from 'telemetry-core-client';
import {
  ACCEPT_LABEL,
  askForConsentIfNeeded as ask,
  CONSENT_TITLE,
  DECLINE_LABEL
} from './consentPrompt';

const sanitizer = new Sanitizer();

/** Asks, if there is anything to ask; resolves once the user answered (or closed it). */
export function askForConsentIfNeeded(client: TelemetryClient): Promise<void> {
  return ask(client, html => sanitizer.sanitize(html), async node => {
    const result = await showDialog({
      title: CONSENT_TITLE,
      body: new Widget({ node }),
      buttons: [
        Dialog.cancelButton({ label: DECLINE_LABEL }),
        Dialog.okButton({ label: ACCEPT_LABEL })
      ],
      hasClose: true
    });
    const label = result.button.label;
    return label === ACCEPT_LABEL ? 'accept' : label === DECLINE_LABEL ? 'decline' : 'closed';
  });
}
