/**
 * The ITelemetry token and its implementation on top of the telemetry-core JS client.
 */
import { Token } from '@lumino/coreutils';
import type { RecordResult, TelemetryClient } from 'telemetry-core-client';
import { Telemetry } from './recorder';

export type { RecordResult };
export { Telemetry };

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

