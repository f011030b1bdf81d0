/**
 * Command arguments made safe to send: plain JSON only, bounded in depth, keys, items
 * and string length. Arguments can name files and people; the schema marks them as
 * personal data, so the server redacts them unless the policy keeps them. This only
 * keeps them small and serialisable (JupyterLab passes DOM events or widgets now and then).
 */
const MAX_DEPTH = 3;
const MAX_KEYS = 20;
const MAX_STRING = 256;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export function safeArgs(args: unknown): Record<string, Json> {
  const out = safeValue(args, 0);
  return out !== null && typeof out === 'object' && !Array.isArray(out) ? out : {};
}

function safeValue(value: unknown, depth: number): Json | undefined {
  switch (typeof value) {
    case 'boolean':
      return value;
    case 'number':
      return Number.isFinite(value) ? value : undefined;
    case 'string':
      return value.length > MAX_STRING ? value.slice(0, MAX_STRING) : value;
    case 'object':
      break;
    default:
      return undefined; // functions, symbols, bigints, undefined
  }
  if (value === null) {
    return null;
  }
  if (depth >= MAX_DEPTH) {
    return undefined;
  }
  if (Array.isArray(value)) {
    return value
      .slice(0, MAX_KEYS)
      .map(item => safeValue(item, depth + 1))
      .filter((item): item is Json => item !== undefined);
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    return undefined; // class instances: widgets, events, DOM nodes
  }
  const out: { [key: string]: Json } = {};
  for (const key of Object.keys(value).slice(0, MAX_KEYS)) {
    const item = safeValue((value as Record<string, unknown>)[key], depth + 1);
    if (item !== undefined) {
      out[key] = item;
    }
  }
  return out;
}
