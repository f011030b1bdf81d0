/**
 * "Telemetry: what is collected": a main-area panel with the notice, what is recorded
 * now, and the user's decisions, which they can change at any time.
 */
import { MainAreaWidget } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';
import type { TelemetryClient } from 'telemetry-core-client';
import { choiceList, decisionsIn, noticeSection } from './choices';
import { loadConsentView } from './consent';

export function noticePanel(client: TelemetryClient): MainAreaWidget<NoticeContent> {
  const content = new NoticeContent(client);
  const panel = new MainAreaWidget({ content });
  panel.id = 'jp-telemetry-notice-panel';
  panel.title.label = 'Telemetry';
  panel.title.closable = true;
  void content.refresh();
  return panel;
}

export class NoticeContent extends Widget {
  constructor(private readonly client: TelemetryClient) {
    super();
    this.addClass('jp-telemetry-panel');
  }

  /** (Re)loads the notice and the user's state from the server. */
  async refresh(): Promise<void> {
    const status = this.message('Loading…');
    this.node.replaceChildren(status);
    let view;
    try {
      view = await loadConsentView(this.client);
    } catch (error) {
      status.textContent = `The telemetry notice could not be loaded: ${(error as Error).message}`;
      return;
    }
    const decidable = view.choices.filter(c => c.consent !== 'required');
    const required = view.choices.filter(c => c.consent === 'required');
    const heading = document.createElement('h1');
    heading.textContent = 'Telemetry: what is collected';
    this.node.replaceChildren(heading);
    if (view.choices.length === 0) {
      this.node.append(this.message('This deployment records no events.'));
    }
    if (decidable.length > 0) {
      const list = choiceList(decidable, c => c.recorded);
      const save = document.createElement('button');
      save.className = 'jp-mod-styled jp-mod-accept';
      save.textContent = 'Save my decisions';
      save.onclick = async () => {
        save.disabled = true;
        try {
          await this.client.setConsent(decisionsIn(list), view.noticeVersion);
        } catch (error) {
          save.after(this.message(`Not saved: ${(error as Error).message}`));
          save.disabled = false;
          return;
        }
        await this.refresh();
      };
      this.node.append(this.subheading('Your decisions'), list, save);
    }
    if (required.length > 0) {
      this.node.append(
        this.subheading('Always collected'),
        choiceList(required, () => true)
      );
    }
    this.node.append(noticeSection(view.noticeHtml, true));
  }

  private message(text: string): HTMLElement {
    const p = document.createElement('p');
    p.textContent = text;
    return p;
  }

  private subheading(text: string): HTMLElement {
    const h = document.createElement('h2');
    h.textContent = text;
    return h;
  }
}
