/**
 * jupyterlab-telemetry: the JupyterLab 4 / Notebook 7 side of telemetry-core.
 *
 * Provides the ITelemetry token (other extensions record their own events through it),
 * records commands, documents opened and notebook events through the telemetry-core JS
 * client and the server's REST API, asks for consent at start when the notice needs it,
 * and adds "Telemetry: what is collected" to the Help menu and the command palette.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette, MainAreaWidget } from '@jupyterlab/apputils';
import {
  IDocumentManager,
  IDocumentWidgetOpener
} from '@jupyterlab/docmanager';
import { IMainMenu } from '@jupyterlab/mainmenu';
import { INotebookTracker } from '@jupyterlab/notebook';
import { TelemetryClient } from 'telemetry-core-client';
import { recordClicks } from './clicks';
import { QUERIES, recordCommands } from './commands';
import { askForConsentIfNeeded } from './consentDialog';
import { recordDocuments } from './documents';
import { NoticeContent, noticePanel } from './noticePanel';
import { NOTICE_CAPTION, NOTICE_LABEL } from './noticeView';
import { recordNotebooks } from './notebooks';
import { SCHEMA } from './schemas';
import { ITelemetry, Telemetry } from './telemetry';

export { ITelemetry } from './telemetry';
export type { RecordResult } from './telemetry';
export { SCHEMA } from './schemas';

const SHOW_NOTICE = 'telemetry:show-notice';

const plugin: JupyterFrontEndPlugin<ITelemetry> = {
  id: 'jupyterlab-telemetry:plugin',
  description:
    'Records commands, documents and notebook events with telemetry-core, asks for consent, and provides the ITelemetry token.',
  autoStart: true,
  provides: ITelemetry,
  optional: [
    INotebookTracker,
    IDocumentManager,
    IDocumentWidgetOpener,
    IMainMenu,
    ICommandPalette
  ],
  activate: (
    app: JupyterFrontEnd,
    notebooks: INotebookTracker | null,
    docManager: IDocumentManager | null,
    opener: IDocumentWidgetOpener | null,
    mainMenu: IMainMenu | null,
    palette: ICommandPalette | null
  ): ITelemetry => {
    const client = TelemetryClient.forJupyter(app.serviceManager.serverSettings, {
      onError: error => console.warn(`jupyterlab-telemetry: ${error.message}`)
    });
    const user = app.serviceManager.user;
    const telemetry = new Telemetry(client, () => user.identity?.username);

    recordCommands(app.commands, telemetry);
    recordClicks(
      listener =>
        app.commands.commandExecuted.connect((_, executed) => {
          if (!QUERIES.test(executed.id)) {
            listener();
          }
        }),
      target => telemetry.record(SCHEMA.click, { ...target })
    );
    if (docManager && opener) {
      recordDocuments(opener, docManager, app.docRegistry, telemetry);
    }
    if (notebooks) {
      recordNotebooks(notebooks, app.shell, telemetry);
    }

    let panel: MainAreaWidget<NoticeContent> | null = null;
    app.commands.addCommand(SHOW_NOTICE, {
      label: NOTICE_LABEL,
      caption: NOTICE_CAPTION,
      execute: () => {
        if (!panel || panel.isDisposed) {
          panel = noticePanel(client);
          addToShell(app.shell, panel);
        } else {
          void panel.content.refresh();
        }
        app.shell.activateById(panel.id);
      }
    });
    mainMenu?.helpMenu.addGroup([{ command: SHOW_NOTICE }], 100);
    palette?.addItem({ command: SHOW_NOTICE, category: 'Help' });

    void app.restored
      .then(() => askForConsentIfNeeded(client))
      .catch((error: Error) =>
        console.warn(`jupyterlab-telemetry: no consent dialog: ${error.message}`)
      );
    return telemetry;
  }
};

/**
 * The notice in the main area (JupyterLab); where the shell keeps the main area for
 * its one document and drops any other widget (Notebook 7's notebook and file pages),
 * in the right side panel instead.
 */
function addToShell(shell: JupyterFrontEnd.IShell, panel: MainAreaWidget): void {
  shell.add(panel, 'main');
  if (!Array.from(shell.widgets('main')).includes(panel)) {
    shell.add(panel, 'right', { rank: 1000 });
  }
}

export default plugin;
