/**
 * What to ask the user, from the server's consent state (GET consent) and notice
 * (GET notice). No JupyterLab imports: the dialog and the panel build on this, and
 * the unit tests run it in Node.
 */
import type { ConsentState, TelemetryClient } from 'telemetry-core-client';

/** One schema as the notice describes it (GET notice?format=json). */
export interface NoticeSchema {
  id: string;
  title: string;
  description: string;
  consent: 'required' | 'opt-in' | 'opt-out';
}

/** A schema the user may decide on, or is told about, with its current state. */
export interface Choice extends NoticeSchema {
  /** Whether its events are recorded now, for this user. */
  recorded: boolean;
}

/** Everything the consent UI shows: the notice's version, its HTML, and the choices. */
export interface ConsentView {
  noticeVersion: string;
  noticeHtml: string;
  choices: Choice[];
  state: ConsentState;
}

/**
 * The opt-in schemas to ask about now: not granted for the current notice (never asked,
 * or the notice now collects more than what the user said yes to), and not refused. A
 * "no" stands whatever the notice says, so it is not asked again; the panel changes it.
 */
export function schemasToAsk(state: ConsentState): string[] {
  const refused = new Set<string>();
  for (const decision of state.decisions ?? []) {
    // decisions are oldest first: the newest on a scope wins
    if (decision.granted) {
      refused.delete(decision.scope);
    } else {
      refused.add(decision.scope);
    }
  }
  return state.schemas
    .filter(s => s.consent === 'opt-in' && s.granted !== true && !refused.has(s.schema_id))
    .map(s => s.schema_id);
}

/**
 * Joins the notice (titles, descriptions, modes; one entry per schema id even when it
 * lists several versions) with the user's state (what is recorded now).
 */
export function choicesFrom(
  notice: { schemas?: NoticeSchema[] },
  state: ConsentState
): Choice[] {
  const recorded = new Map(state.schemas.map(s => [s.schema_id, s.recorded ?? false]));
  const seen = new Set<string>();
  const choices: Choice[] = [];
  for (const schema of notice.schemas ?? []) {
    if (!seen.has(schema.id) && recorded.has(schema.id)) {
      seen.add(schema.id);
      const { id, title, description, consent } = schema;
      choices.push({ id, title, description, consent, recorded: recorded.get(id)! });
    }
  }
  return choices;
}

/** Loads the notice (JSON and HTML) and the user's consent state from the server. */
export async function loadConsentView(client: TelemetryClient): Promise<ConsentView> {
  const [json, html, state] = await Promise.all([
    client.getNotice('json'),
    client.getNotice('html'),
    client.getConsent()
  ]);
  const notice = json.body as { schemas?: NoticeSchema[]; notice_version?: string };
  return {
    noticeVersion: json.noticeVersion ?? notice.notice_version ?? state.notice_version ?? '',
    noticeHtml: typeof html.body === 'string' ? html.body : '',
    choices: choicesFrom(notice, state),
    state
  };
}
