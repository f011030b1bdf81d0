import { TelemetryError } from "./errors.js";

/**
 * A user token: a string, or a function the client calls for a fresh one (your backend
 * mints it for the signed-in user: `telemetry token mint`, or `mint_user_token` in Python).
 * The page never holds a secret: a user token proves one user, for a short while.
 */
export type UserToken = string | (() => string | Promise<string>);

/** Seconds before its `exp` that a token from a function is replaced by a fresh one. */
const REFRESH_BEFORE_S = 60;

/** The claims of a JWT that matter here, read without checking it (the server checks). */
export function tokenClaims(token: string): { sub?: string; exp?: number } {
  const part = token.split(".")[1];
  if (!part) return {};
  try {
    const base64 = part.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
    const text = new TextDecoder().decode(Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)));
    const claims = JSON.parse(text) as { sub?: unknown; exp?: unknown };
    return {
      sub: typeof claims.sub === "string" ? claims.sub : undefined,
      exp: typeof claims.exp === "number" ? claims.exp : undefined,
    };
  } catch {
    return {};
  }
}

/**
 * Hands out the current user token: a string as it is; from a function, the last token
 * until it is within a minute of its expiry (or the server refused it), then a fresh one
 * (one call at a time, however many requests wait for it).
 */
export class UserTokenSource {
  private token: string | undefined;
  private pending: Promise<string> | null = null;

  constructor(private readonly given: UserToken, private readonly now: () => number) {
    if (typeof given === "string") this.token = given;
  }

  /** The token to send now. */
  async get(): Promise<string> {
    if (typeof this.given === "string") return this.given;
    if (this.token !== undefined && this.fresh(this.token)) return this.token;
    if (!this.pending) {
      const source = this.given;
      this.pending = (async () => {
        try {
          const token = await source();
          if (typeof token !== "string" || !token) throw new TypeError("not a string");
          this.token = token;
          return token;
        } catch (err) {
          throw new TelemetryError("network", `userToken: no fresh user token (${
            err instanceof Error ? err.name : typeof err})`);
        } finally {
          this.pending = null;
        }
      })();
    }
    return this.pending;
  }

  /** Forget the current token (the server refused it: expired, or revoked). */
  expire(): void {
    if (typeof this.given !== "string") this.token = undefined;
  }

  private fresh(token: string): boolean {
    const exp = tokenClaims(token).exp;
    return exp === undefined || exp - REFRESH_BEFORE_S > this.now() / 1000;
  }
}
