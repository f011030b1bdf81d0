/**
 * telemetry-core-client: the JavaScript client of telemetry-core's REST API, for
 * browsers (JupyterLab included) and Node.js >= 20.
 * @packageDocumentation
 */
export {
  TelemetryClient,
  type TelemetryClientOptions, type Clock, type RecordResult, type TelemetryStats, type Notice,
} from "./client.js";
export { browserPage, type PageLifecycle } from "./page.js";
export type { FetchLike, JupyterServerSettings } from "./transport.js";
export type { UserToken } from "./userToken.js";
export { TelemetryError, TelemetryValidationError, type TelemetryErrorKind } from "./errors.js";
export { MemoryStorage, type QueueStorage } from "./queue.js";
export type { SchemaEntry, ConsentMode } from "./validation.js";
export type {
  ConsentState, ConsentSchemaState, ConsentDecision, ConsentDecisionRecord,
} from "./consent.js";
