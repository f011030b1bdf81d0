/**
 * jupyterlab-telemetry: the JupyterLab 4 / Notebook 7 side of telemetry-core.
 *
 * For now it provides the ITelemetry token and records nothing: the implementation
 * that sends events to the server's REST API (through the telemetry-core JS client)
 * comes once that API and client exist.
 */
import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { Token } from '@lumino/coreutils';

/**
 * Records telemetry events from the front end.
 */
export interface ITelemetry {
  /**
   * Record one event against a schema the server knows.
   *
   * Resolves when the event was handed on; events that the server's policy does not
   * allow are dropped there, never here.
   */
  recordEvent(
    schemaId: string,
    version: number | string,
    data: Record<string, unknown>
  ): Promise<void>;
}

/**
 * The token other extensions require to record events.
 */
export const ITelemetry = new Token<ITelemetry>(
  'jupyterlab-telemetry:ITelemetry',
  'Records schema-validated telemetry events through the server.'
);

/**
 * Records nothing yet: every call resolves without sending.
 */
class NotYetRecording implements ITelemetry {
  async recordEvent(
    schemaId: string,
    version: number | string,
    data: Record<string, unknown>
  ): Promise<void> {
    void schemaId;
    void version;
    void data;
  }
}

const plugin: JupyterFrontEndPlugin<ITelemetry> = {
  id: 'jupyterlab-telemetry:plugin',
  description: 'Provides the ITelemetry token.',
  autoStart: true,
  provides: ITelemetry,
  activate: (app: JupyterFrontEnd): ITelemetry => {
    console.log(`jupyterlab-telemetry is activated in ${app.name}`);
    return new NotYetRecording();
  }
};

export default plugin;
