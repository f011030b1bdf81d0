/** What went wrong, in a word: the `kind` of a {@link TelemetryError}. */
export type TelemetryErrorKind =
  | "network" // no answer: offline, DNS, connection refused, aborted
  | "http" // the server answered with an error status
  | "invalid" // an event failed validation (client side or the server's answer)
  | "queue_full" // the queue was full and an event was dropped
  | "storage" // the persistent queue could not be read or written
  | "schemas"; // GET schemas or GET consent failed; events wait unchecked

/**
 * Every error the client reports or rejects with. Messages name schema ids, versions,
 * JSON paths, rules and HTTP statuses, never an event's values.
 */
export class TelemetryError extends Error {
  /** What went wrong; see {@link TelemetryErrorKind}. */
  readonly kind: TelemetryErrorKind;
  /** The HTTP status, for `kind: "http"`. */
  readonly status?: number;
  /** The server's machine code (`{"error": {"code": ...}}`), when it sent one. */
  readonly code?: string;
  /** Milliseconds the server asked us to wait (`Retry-After`), when it did. */
  readonly retryAfterMs?: number;

  constructor(kind: TelemetryErrorKind, message: string,
              extra: { status?: number; code?: string; retryAfterMs?: number } = {}) {
    super(message);
    this.name = "TelemetryError";
    this.kind = kind;
    this.status = extra.status;
    this.code = extra.code;
    this.retryAfterMs = extra.retryAfterMs;
  }
}

/**
 * The one wording of an invalid event, the same as the server's and the Python
 * library's (`invalid event for schema 'ID' version 1: $.page: type`); a test compares
 * them on shared cases (tests/fixtures/validation-cases.json). Never a value.
 */
export function invalidMessage(schemaId: string, version: number | string, path: string,
                               rule: string): string {
  return `invalid event for schema '${schemaId}' version ${version}: ${path}: ${rule}`;
}

/**
 * An event that does not match its schema. Names the schema, version, JSON path
 * (`$.page`, `$.items[1]`, `$.kernel_id` for a missing required property) and the rule
 * (`type`, `required`, `reserved`...), never the value.
 */
export class TelemetryValidationError extends TelemetryError {
  /** The schema id the event was recorded against. */
  readonly schemaId: string;
  /** The schema version the event was recorded against. */
  readonly version: number | string;
  /** Where in the event, as a JSON path from `$`. */
  readonly path: string;
  /** The JSON Schema keyword (or bound) that failed. */
  readonly rule: string;
  /** What the rule means here, for client-side bounds (never a value; not in the message). */
  readonly detail?: string;

  constructor(schemaId: string, version: number | string, path: string, rule: string,
              detail?: string) {
    super("invalid", invalidMessage(schemaId, version, path, rule));
    this.name = "TelemetryValidationError";
    this.schemaId = schemaId;
    this.version = version;
    this.path = path;
    this.rule = rule;
    this.detail = detail;
  }
}
