/**
 * What the extension's own recorders call, in JupyterLab and the classic notebook: the
 * telemetry-core client plus the user's name, and invalid events reported on the
 * console (schema, path, rule; never a value) instead of thrown into the front end.
 */
import type { RecordResult, TelemetryClient } from 'telemetry-core-client';

/**
 * The ITelemetry implementation over a TelemetryClient. `record` is what this extension's own recorders
 * call: it adds the user's name, and reports invalid events on the console (schema,
 * path, rule; never a value) instead of throwing into JupyterLab.
 */
export class Telemetry {
  constructor(
    readonly client: TelemetryClient,
    private readonly username: () => string | undefined
  ) {}

  recordEvent(
    schemaId: string,
    version: number | string,
    data: Record<string, unknown>
  ): Promise<RecordResult> {
    return this.client.recordEvent(schemaId, version, data);
  }

  flush(): Promise<boolean> {
    return this.client.flush();
  }

  /** Record one of this extension's events; never rejects. */
  record(schemaId: string, data: Record<string, unknown>): void {
    const user = this.username();
    const event = user === undefined ? data : { ...data, user };
    this.client.recordEvent(schemaId, 1, event).catch((error: Error) => {
      console.warn(`jupyterlab-telemetry: ${error.message}`);
    });
  }
}
