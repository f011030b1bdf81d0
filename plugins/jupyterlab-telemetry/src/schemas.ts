/**
 * The ids of the shipped event schemas this extension records (schemas/events/jupyterlab-*.yaml
 * in telemetry-core); all are version 1. The server records an event only when its
 * schema is in `c.EventLog.allowed_schemas` and the user's consent permits it.
 */
const BASE = 'https://telemetry.jupyter.org/schemas/events/jupyterlab/';

export const SCHEMA = {
  command: `${BASE}command`,
  documentOpened: `${BASE}document-opened`,
  notebookOpened: `${BASE}notebook/opened`,
  notebookSaved: `${BASE}notebook/saved`,
  notebookVisibility: `${BASE}notebook/visibility`,
  notebookScrolled: `${BASE}notebook/scrolled`,
  activeCellChanged: `${BASE}notebook/active-cell-changed`,
  cellAdded: `${BASE}notebook/cell-added`,
  cellRemoved: `${BASE}notebook/cell-removed`,
  cellEdited: `${BASE}notebook/cell-edited`,
  cellExecuted: `${BASE}notebook/cell-executed`,
  clipboard: `${BASE}notebook/clipboard`,
  click: `${BASE}click`
} as const;

export const VERSION = 1;
