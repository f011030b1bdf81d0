/**
 * The ITelemetry token and its implementation on top of the telemetry-core JS client.
 */
import { Token } from '@lumino/coreutils';
import { TelemetryClient, type RecordResult } from 'telemetry-core-client';

export type { RecordResult };

/**
 * Records telemetry events from the front end, through the server's REST API
 * (`{baseUrl}api/telemetry/`), with the server's policy and the user's consent.
 */
export interface ITelemetry {
  /**
   * Record one event against a schema the server knows (registered there and listed in
   * `c.EventLog.allowed_schemas`).
   *
   * Resolves to `{status: "queued"}` when the event was queued for sending, or to
   * `{status: "not_recorded", reason}` when the policy or the user's consent does not
   * allow it. Rejects with a `TelemetryValidationError` (schema, version, JSON path and
   * rule; never the value) when `data` does not match the schema.
   */
  recordEvent(
    schemaId: string,
    version: number | string,
    data: Record<string, unknown>
  ): Promise<RecordResult>;

  /** Send what is queued now; resolves true when nothing is left. Never rejects. */
  flush(): Promise<boolean>;

  /** The underlying client (notice, consent, stats). */
  readonly client: TelemetryClient;
}

/**
 * The token other extensions require to record events.
 */
export const ITelemetry = new Token<ITelemetry>(
  'jupyterlab-telemetry:ITelemetry',
  'Records schema-validated telemetry events through the server.'
);

/**
 * ITelemetry over a TelemetryClient. `record` is what this extension's own recorders
 * call: it adds the user's name, and reports invalid events on the console (schema,
 * path, rule; never a value) instead of throwing into JupyterLab.
 */
export class Telemetry implements ITelemetry {
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
