/**
 * "Telemetry: what is collected" (noticeView.ts) as a JupyterLab main-area panel.
 */
import { MainAreaWidget, Sanitizer } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';
import type { TelemetryClient } from 'telemetry-core-client';
import { renderNotice } from './noticeView';

const sanitizer = new Sanitizer();

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
  refresh(): Promise<void> {
    return renderNotice(this.node, this.client, html => sanitizer.sanitize(html));
  }
}
