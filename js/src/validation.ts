import { Validator, type OutputUnit, type Schema } from "@cfworker/json-schema";
import { TelemetryValidationError } from "./errors.js";

/** How a schema's events are consented to, as GET schemas says. */
export type ConsentMode = "required" | "opt-in" | "opt-out";

/** One entry of `GET schemas`. */
export interface SchemaEntry {
  schema_id: string;
  version: number | string;
  consent?: ConsentMode;
  schema: Record<string, unknown> | boolean;
}

// Keywords that only say "something below failed"; the error under them says what.
const APPLICATORS = new Set([
  "properties", "patternProperties", "additionalProperties", "unevaluatedProperties",
  "items", "prefixItems", "additionalItems", "unevaluatedItems", "contains",
  "allOf", "anyOf", "oneOf", "not", "if", "then", "else", "$ref", "$dynamicRef",
  "$recursiveRef", "dependentSchemas", "dependencies", "propertyNames",
]);

/** `#/items/1` (a URI-encoded JSON pointer) as the JSON path `$.items[1]`. */
export function pointerToPath(pointer: string): string {
  let path = "$";
  for (const raw of pointer.replace(/^#/, "").split("/").slice(1)) {
    const key = decodeURIComponent(raw).replace(/~1/g, "/").replace(/~0/g, "~");
    if (/^\d+$/.test(key)) path += `[${key}]`;
    else if (/^[A-Za-z_$][\w$]*$/.test(key)) path += `.${key}`;
    else path += `[${JSON.stringify(key)}]`;
  }
  return path;
}

// The validator's message for a missing property: only the property's name is read.
const MISSING = /^Instance does not have required property "(.*)"\.$/s;

/**
 * The most telling error of a validator's list: the first that is not an applicator.
 * A missing required property is named by its path (`$.page`), as the server does.
 */
function pick(errors: OutputUnit[]): { path: string; rule: string } {
  const i = errors.findIndex((e) => !APPLICATORS.has(e.keyword));
  const e = errors[i] ?? errors[0];
  let rule = e?.keyword ?? "schema";
  // A `false` subschema: the keyword that put it there names the rule.
  if (rule === "false" && i > 0) rule = errors[i - 1].keyword;
  let pointer = e?.instanceLocation ?? "#";
  const missing = rule === "required" ? MISSING.exec(e.error) : null;
  if (missing) {
    pointer += `/${encodeURIComponent(missing[1].replace(/~/g, "~0").replace(/\//g, "~1"))}`;
  }
  return { path: pointerToPath(pointer), rule };
}

/**
 * The schemas the server allows, with a validator per (schema id, version) compiled on
 * first use. The validator's own messages are never used: some quote values.
 */
export class SchemaSet {
  private entries = new Map<string, SchemaEntry>();
  private modes = new Map<string, ConsentMode>();
  private validators = new Map<string, Validator>();

  constructor(readonly list: SchemaEntry[]) {
    for (const e of list) {
      this.entries.set(key(e.schema_id, e.version), e);
      this.modes.set(e.schema_id, e.consent ?? "required");
    }
  }

  /** Whether the server allows this schema id and version at all. */
  allows(schemaId: string, version: number | string): boolean {
    return this.entries.has(key(schemaId, version));
  }

  /** The consent mode of a schema id (`required` when the server says none). */
  mode(schemaId: string): ConsentMode {
    return this.modes.get(schemaId) ?? "required";
  }

  /** Throws a {@link TelemetryValidationError} when `data` does not match its schema. */
  validate(schemaId: string, version: number | string, data: unknown): void {
    const k = key(schemaId, version);
    let v = this.validators.get(k);
    if (!v) {
      const entry = this.entries.get(k);
      if (!entry) return;
      v = new Validator(entry.schema as Schema, "2020-12", false);
      this.validators.set(k, v);
    }
    const result = v.validate(data);
    if (!result.valid) {
      const { path, rule } = pick(result.errors);
      throw new TelemetryValidationError(schemaId, version, path, rule);
    }
  }
}

function key(schemaId: string, version: number | string): string {
  return `${schemaId}\n${version}`;
}
