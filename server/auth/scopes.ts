import { ApiError } from "../errors";

/** Every scope a key or role can hold. `full` (not listed here) means all of them. */
export const SCOPES = ["inference", "keys:read", "keys:write", "usage:read", "billing:read", "members:read", "members:write"] as const;
export type Scope = (typeof SCOPES)[number];

const ALL: ReadonlySet<Scope> = new Set(SCOPES);
const isScope = (s: string): s is Scope => (SCOPES as readonly string[]).includes(s);

/**
 * The scope names a deployment accepts: relay's own, plus RELAY_SCOPE_ALIASES (`FULL_ACCESS=full,SUBMIT_JOBS=inference`)
 * for clients used to another vocabulary. Keys store relay's names; with aliases, they are also shown in the
 * aliases' names.
 */
export class ScopeRegistry {
  private readonly toCanonical = new Map<string, string>();
  private readonly toAlias = new Map<string, string>();

  constructor(aliases: readonly (readonly [alias: string, scope: string])[] = []) {
    for (const s of [...SCOPES, "full"]) this.toCanonical.set(s, s);
    for (const [alias, scope] of aliases) {
      this.toCanonical.set(alias, scope);
      if (!this.toAlias.has(scope)) this.toAlias.set(scope, alias);
    }
  }

  /** The names a key may be created with. */
  names(): string[] {
    return [...this.toCanonical.keys()];
  }

  /** Relay's names for what a client sent, or a 400 naming the ones there are. */
  canonical(names: readonly string[]): string[] {
    return names.map((n) => {
      const c = this.toCanonical.get(n);
      if (c === undefined) throw new ApiError("invalid_request", `scopes: unknown scope '${n.slice(0, 60)}'; the scopes are: ${this.names().join(", ")}`, "scopes");
      return c;
    });
  }

  /** Stored names as clients see them: an alias where one is set. */
  shown(names: readonly string[]): string[] {
    return names.map((n) => this.toAlias.get(n) ?? n);
  }
}

/** Expands `full` and returns the effective scope set of stored names. */
export function expandScopes(scopes: readonly string[]): Set<Scope> {
  if (scopes.includes("full")) return new Set(SCOPES);
  return new Set(scopes.filter(isScope));
}

/** What both sets allow. */
export function intersect(a: ReadonlySet<Scope>, b: ReadonlySet<Scope>): Set<Scope> {
  return new Set([...a].filter((s) => b.has(s)));
}

export const ALL_SCOPES = ALL;

/** Parses RELAY_SCOPE_ALIASES: `ALIAS=scope` pairs, comma-separated; each scope must be relay's own (or `full`). */
export function parseScopeAliases(text: string): [string, string][] | string {
  const out: [string, string][] = [];
  for (const part of text.split(",").map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf("=");
    const alias = part.slice(0, eq).trim();
    const scope = part.slice(eq + 1).trim();
    if (eq <= 0 || !/^[A-Za-z0-9_.:-]{1,64}$/.test(alias)) return `not ALIAS=scope: ${part}`;
    if (scope !== "full" && !isScope(scope)) return `${alias} maps to '${scope}', which is not one of full, ${SCOPES.join(", ")}`;
    out.push([alias, scope]);
  }
  return out;
}
