import type { ConsentMode } from "./validation.js";

/** One schema's line of `GET consent`. */
export interface ConsentSchemaState {
  schema_id: string;
  consent: ConsentMode;
  granted: boolean | null;
  recorded?: boolean;
}

/** One decision of the user's history in `GET consent`. */
export interface ConsentDecisionRecord {
  scope: string;
  granted: boolean;
  notice_version?: string;
  at?: string;
  via?: string;
  /** Who made it: `user:<id>` (the user), `client:<name>`, `admin:<id>`. */
  by?: string;
  /** How they were authenticated: `user-token`, `oidc`, `jupyter`, `token`, `local`. */
  auth?: string;
}

/** The calling user's consent state, as `GET consent` and `PUT consent` answer. */
export interface ConsentState {
  user?: string;
  notice_version?: string;
  schemas: ConsentSchemaState[];
  decisions?: ConsentDecisionRecord[];
  /** The cursor of older decisions (`GET consent?before=`), null when there are none. */
  older?: number | null;
}

/** A decision to send with `setConsent`: a schema id (the scope) and yes or no. */
export interface ConsentDecision {
  scope: string;
  granted: boolean;
}

/** Why an event is not sent, when consent is what stops it. */
export type ConsentVerdict = "no_consent" | null;

/**
 * The local consent filter. Opt-in schemas need the user's yes; opt-out schemas go
 * unless the user said no; required schemas always go. The server decides again, so
 * this only keeps what it would refuse from ever leaving the machine.
 */
export class ConsentFilter {
  private granted = new Map<string, boolean | null>();

  /** Takes the state from a `GET consent` or `PUT consent` answer. */
  update(state: ConsentState | null): void {
    this.granted.clear();
    for (const s of state?.schemas ?? []) this.granted.set(s.schema_id, s.granted ?? null);
  }

  /** `null` when events of `schemaId` under `mode` may be sent, else why not. */
  check(schemaId: string, mode: ConsentMode): ConsentVerdict {
    const granted = this.granted.get(schemaId);
    if (mode === "opt-in" && granted !== true) return "no_consent";
    if (mode === "opt-out" && granted === false) return "no_consent";
    return null;
  }
}

/** Decisions as an array, from either spelling `setConsent` takes. */
export function toDecisions(
  decisions: ConsentDecision[] | Record<string, boolean>,
): ConsentDecision[] {
  if (Array.isArray(decisions)) return decisions.map(({ scope, granted }) => ({ scope, granted }));
  return Object.entries(decisions).map(([scope, granted]) => ({ scope, granted }));
}
