import { eq } from "drizzle-orm";
import { apiKeys, users } from "../../db/schema";
import { ApiError, type Caller } from "../errors";
import type { AppContext } from "../context";
import { digestsEqual, hashKeyBytes, keyPattern, publicPrefix } from "../keys/key-format";
import type { Scope } from "../keys/model";
import { ipInAny } from "../net/cidr";
import type { CachedKey } from "./key-cache";

/** Who is calling: a key's holder, or (issue 6) a user's session, which acts with all scopes but `inference` limits. */
export type Principal = {
  kind: "key" | "session";
  userId: number;
  user: CachedKey["user"];
  /** Null for sessions. */
  entry: CachedKey | null;
  scopes: ReadonlySet<Scope>;
  ip: string;
};

const patterns = new Map<string, RegExp>();
const DUMMY_HASH = hashKeyBytes("relay-dummy-key-for-constant-work");
const INVALID = () => new ApiError("invalid_api_key", "Incorrect API key provided.");
const MISSING = () =>
  new ApiError("invalid_api_key", "No API key provided. Send your relay key as 'Authorization: Bearer <key>'; the relay's operator issues keys (relay admin key create).");
const MALFORMED = () => new ApiError("invalid_api_key", "The Authorization header must be 'Bearer <key>' (or send the key alone in x-api-key).");
const TWO_KEYS = () => new ApiError("invalid_api_key", "Authorization and x-api-key carry two different keys; send one key.");

/** Session verifier slot, filled by the sessions feature so this module stays free of JWT code. */
export type SessionVerifier = (ctx: AppContext, token: string, ip: string) => Promise<Principal>;
let sessionVerifier: SessionVerifier | null = null;
export function registerSessionVerifier(v: SessionVerifier): void {
  sessionVerifier = v;
}

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
 * Checks the presented key. Malformed values are rejected before any database access; a known public id
 * and an unknown one cost the same hash comparison; then disabled → expired → IP, in that order.
 * Synchronous for API keys (a promise only for sessions), so the relay's hot path awaits nothing here.
 */
export function authenticate(ctx: AppContext, authorization: string | null, ip: string, xApiKey: string | null = null): Principal | Promise<Principal> {
  const token = presentedToken(authorization, xApiKey);
  if (token.startsWith("eyJ") && sessionVerifier) return sessionVerifier(ctx, token, ip);
  return authenticateKey(ctx, token, ip);
}

/** The key with this public id and its user, from the cache or the database; null when there is none. */
export function lookupKey(ctx: AppContext, publicId: string): CachedKey | null {
  let entry = ctx.keyCache.get(publicId);
  if (entry === undefined) {
    const key = ctx.db.select().from(apiKeys).where(eq(apiKeys.publicId, publicId)).get();
    const user = key ? ctx.db.select().from(users).where(eq(users.id, key.userId)).get() : undefined;
    entry = ctx.keyCache.set(publicId, key, user);
  }
  return entry;
}

export function authenticateKey(ctx: AppContext, token: string, ip: string): Principal {
  const prefix = ctx.config.RELAY_KEY_PREFIX;
  let re = patterns.get(prefix);
  if (!re) patterns.set(prefix, (re = keyPattern(prefix)));
  const m = re.exec(token);
  if (!m) throw INVALID();
  const entry = lookupKey(ctx, m[1]!);
  const ok = digestsEqual(hashKeyBytes(token), entry ? entry.hash : DUMMY_HASH);
  if (!entry || !ok) throw INVALID();
  const refusal = keyRefusal(entry, ip, Date.now());
  if (refusal) {
    refusal.caller = callerOf(ctx, entry, ip);
    throw refusal;
  }
  return { kind: "key", userId: entry.user.id, user: entry.user, entry, scopes: entry.scopes, ip };
}

/** Why a verified key may not be used now (disabled, expired, source IP), or null. */
export function keyRefusal(entry: CachedKey, ip: string, now: number): ApiError | null {
  const { key, user } = entry;
  if (!user.enabled || !key.enabled) return new ApiError("key_disabled", "This API key or its user is disabled.");
  if (key.expiresAt !== null && key.expiresAt <= now) return new ApiError("key_expired", "This API key has expired.");
  if (entry.cidrs.length > 0 && !ipInAny(ip, entry.cidrs)) return new ApiError("ip_not_allowed", `Requests from ${ip} are not allowed for this key.`);
  return null;
}

/** The identity refusals are logged under (never the secret: the prefix and public id only). */
export function callerOf(ctx: AppContext, entry: CachedKey, ip: string): Caller {
  return { userId: entry.user.id, keyId: entry.key.id, keyPrefix: publicPrefix(ctx.config.RELAY_KEY_PREFIX, entry.key.publicId), ip };
}

export function requireScope(p: Principal, scope: Scope): void {
  if (!p.scopes.has(scope)) throw new ApiError("insufficient_scope", `This key lacks the '${scope}' scope.`);
}

export function requireModelAllowed(p: Principal, model: string): void {
  const models = p.entry?.models;
  if (models && !models.has(model)) throw new ApiError("model_not_allowed", `This key may not use model '${model}'.`, "model");
}
