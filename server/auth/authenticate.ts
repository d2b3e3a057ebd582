import type { AccountRow, MembershipRow, UserRow } from "../../db/schema";
import { ApiError, type Caller } from "../errors";
import type { AppContext } from "../context";
import { digestHex, hashesEqual, keyPrefixOf } from "../keys/key-format";
import { ipInAny } from "../net/cidr";
import { cachedKey, type CachedKey } from "./key-cache";
import type { Scope } from "./scopes";

/**
 * Who is calling, and which account pays: a key's holder (the key's account), or a user's session (the
 * user's personal account, every scope). `user` is the person behind the request: null for a service key.
 */
export type Principal = {
  kind: "key" | "session";
  accountId: number;
  account: AccountRow;
  userId: number | null;
  user: UserRow | null;
  /** Null for sessions. */
  entry: CachedKey | null;
  /** A member key's membership of its org (its caps apply), else null. */
  membership: MembershipRow | null;
  scopes: ReadonlySet<Scope>;
  ip: string;
};

const DUMMY_DIGEST = digestHex("relay-dummy-key-for-constant-work");
const INVALID = () => new ApiError("invalid_api_key", "Incorrect API key provided.");
const MISSING = () =>
  new ApiError("invalid_api_key", "No API key provided. Send your relay key as 'Authorization: Bearer <key>' or 'x-api-key: <key>'; the relay's operator issues keys (relay admin key create).");
const MALFORMED = () => new ApiError("invalid_api_key", "The Authorization header must be 'Bearer <key>' (or send the key alone in x-api-key).");
const TWO_KEYS = () => new ApiError("invalid_api_key", "Authorization and x-api-key carry two different keys; send one key.");

/** Checks a session JWT; the context carries it (ctx.verifySession), so this module stays free of JWT code. */
export type SessionVerifier = (ctx: AppContext, token: string, ip: string) => Promise<Principal>;

/** A value that could be a key at all: printable, no spaces or commas, of a sane length. */
const plausible = (t: string) => t.length >= 8 && t.length <= 512 && !/[\s,]/.test(t);

function bearerToken(header: string): string | null {
  if (header.length > 4096 || !header.startsWith("Bearer ")) return null;
  const token = header.slice(7);
  return token.length > 0 && !/[\s,]/.test(token) ? token : null;
}

/**
 * The key a request carries: `Authorization: Bearer <key>` (OpenAI's clients) or `x-api-key: <key>`
 * (Anthropic's), on every route. Both carrying the same key is fine; two different keys are refused.
 */
function presentedToken(authorization: string | null, xApiKey: string | null): string {
  const bearer = authorization === null || authorization === "" ? null : bearerToken(authorization);
  if (authorization && bearer === null) throw MALFORMED();
  const apiKey = xApiKey === null || xApiKey === "" ? null : xApiKey.length <= 4096 && !/[\s,]/.test(xApiKey) ? xApiKey : "";
  if (apiKey === "") throw INVALID();
  if (bearer !== null && apiKey !== null && bearer !== apiKey) throw TWO_KEYS();
  const token = bearer ?? apiKey;
  if (token === null) throw MISSING();
  return token;
}

/**
 * Checks the presented key. Keys of any format are found by the SHA-256 of the whole key, and an unknown key
 * costs the same digest and comparison as a known one; then disabled → suspended → membership → expired →
 * IP, in that order. Synchronous for API keys (a promise only for sessions), so the relay's hot path awaits
 * nothing here.
 */
export function authenticate(ctx: AppContext, authorization: string | null, ip: string, xApiKey: string | null = null): Principal | Promise<Principal> {
  const token = presentedToken(authorization, xApiKey);
  if (token.startsWith("eyJ")) return ctx.verifySession(ctx, token, ip);
  return authenticateKey(ctx, token, ip);
}

/**
 * The key with this digest and what it needs, from the cache (at once) or the database (a promise, the
 * cache filled); null when there is none.
 */
export function lookupKey(ctx: AppContext, digest: string): CachedKey | null | Promise<CachedKey | null> {
  const cached = ctx.keyCache.get(digest);
  if (cached !== undefined) return cached;
  return ctx.stores.keys.credential(digest).then((c) => {
    if (!c) return null;
    // A member key's membership is its creator's in the key's org; other keys have none.
    const membership = c.key.kind === "member" ? c.membership : null;
    return ctx.keyCache.set(digest, cachedKey(c.key, c.account, c.user, membership));
  });
}

/** Synchronous when the key is cached (the hot path awaits nothing), a promise when it must be read. */
export function authenticateKey(ctx: AppContext, token: string, ip: string): Principal | Promise<Principal> {
  if (!plausible(token)) throw INVALID();
  const digest = digestHex(token);
  const entry = lookupKey(ctx, digest);
  return entry instanceof Promise ? entry.then((e) => principalOf(ctx, digest, e, ip)) : principalOf(ctx, digest, entry, ip);
}

function principalOf(ctx: AppContext, digest: string, entry: CachedKey | null, ip: string): Principal {
  const ok = hashesEqual(digest, entry ? entry.key.hash : DUMMY_DIGEST);
  if (!entry || !ok) throw INVALID();
  const refusal = keyRefusal(entry, ip, Date.now());
  if (refusal) {
    refusal.caller = callerOf(ctx, entry, ip);
    throw refusal;
  }
  return {
    kind: "key", accountId: entry.account.id, account: entry.account, userId: entry.user?.id ?? null, user: entry.user, entry,
    membership: entry.membership, scopes: entry.scopes, ip,
  };
}

/** Why a verified key may not be used now (disabled, org suspended, member gone, expired, source IP), or null. */
export function keyRefusal(entry: CachedKey, ip: string, now: number): ApiError | null {
  const { key, user, account } = entry;
  if (!key.enabled || (key.kind !== "service" && (!user || !user.enabled))) return new ApiError("key_disabled", "This API key or its user is disabled.");
  if (account.suspended) return new ApiError("org_suspended", "This organization is suspended; its keys are refused until an admin resumes it.");
  if (key.kind === "member" && !entry.membership) return new ApiError("key_disabled", "This member key's creator is no longer a member of the organization.");
  if (key.expiresAt !== null && key.expiresAt <= now) return new ApiError("key_expired", "This API key has expired.");
  if (entry.cidrs.length > 0 && !ipInAny(ip, entry.cidrs)) return new ApiError("ip_not_allowed", `Requests from ${ip} are not allowed for this key.`);
  return null;
}

/** The identity refusals are logged under (never the secret: the public prefix only). */
export function callerOf(ctx: AppContext, entry: CachedKey, ip: string): Caller {
  return { accountId: entry.account.id, orgId: entry.account.kind === "org" ? entry.account.id : null, userId: entry.user?.id ?? null, keyId: entry.key.id, keyLabel: entry.key.label, keyPrefix: keyPrefixOf(ctx, entry.key), ip };
}

export function requireScope(p: Principal, scope: Scope): void {
  if (!p.scopes.has(scope)) throw new ApiError("insufficient_scope", `This key lacks the '${scope}' scope.`);
}

export function requireModelAllowed(p: Principal, model: string): void {
  const models = p.entry?.models ?? (p.account.models ? new Set(p.account.models) : null);
  if (models && !models.has(model)) throw new ApiError("model_not_allowed", `This key may not use model '${model}'.`, "model");
}
