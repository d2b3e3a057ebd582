import type { AppContext } from "../context";
import type { Principal } from "../auth/authenticate";
import { ApiError } from "../errors";
import { readBody, parseJsonObject } from "../http/body";
import { expandScopes } from "../auth/scopes";
import type { Actor } from "../audit/audit";

/** Reads and parses a JSON object body with the same errors as the rest of the public API, up to `maxBytes`. */
export async function readJson(ctx: AppContext, request: Request, maxBytes = ctx.config.RELAY_MAX_BODY_BYTES): Promise<Record<string, unknown>> {
  const bytes = await readBody(request, Math.min(maxBytes, ctx.config.RELAY_MAX_BODY_BYTES));
  return parseJsonObject(bytes, request.headers.get("content-type"));
}

/** As `readJson`, for routes whose fields are all optional: an empty body is `{}`. */
export async function readOptionalJson(ctx: AppContext, request: Request): Promise<Record<string, unknown>> {
  const bytes = await readBody(request, ctx.config.RELAY_MAX_BODY_BYTES);
  return bytes.byteLength === 0 ? {} : parseJsonObject(bytes, request.headers.get("content-type"));
}

/** The audit actor for a caller: `user:<name>` for a session, `key:<id>` for an API key, with the source IP. */
export function actorOf(p: Principal): Actor {
  return { name: p.entry ? `key:${p.entry.key.id}` : `user:${p.user?.name ?? "?"}`, ip: p.ip };
}

/** A key id from the path; anything that is not a positive integer is as unknown as another user's id. */
export function keyIdParam(raw: string | null | undefined): number {
  // Elysia hands over null for a path segment it could not percent-decode (e.g. /v1/keys/%zz/).
  const text = typeof raw === "string" ? raw : "";
  const id = /^[1-9][0-9]{0,15}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(id)) throw new ApiError("not_found", `no key with id ${text.slice(0, 40)}`, "id");
  return id;
}

/**
 * The caller's own (personal) account, for /v1/keys and /v1/usage: a session's, or a personal key's. An org
 * key manages its org's keys under /v1/orgs/{orgId}/… instead.
 */
export function personalOf(p: Principal): { accountId: number; userId: number } {
  if (p.account.kind !== "user" || p.userId === null) {
    throw new ApiError("org_forbidden", `This is an organization's key; manage its keys and usage under /v1/orgs/${p.accountId}/.`);
  }
  return { accountId: p.accountId, userId: p.userId };
}

/** A caller can never hand out a scope it lacks itself (`full` counts as every scope); names may be aliases. */
export function requireGrantable(ctx: AppContext, p: Principal, scopes: readonly string[] | undefined): void {
  if (scopes === undefined) return;
  for (const s of expandScopes(ctx.scopes.canonical(scopes))) {
    if (!p.scopes.has(s)) throw new ApiError("insufficient_scope", `A key cannot grant the '${s}' scope, which it lacks itself.`, "scopes");
  }
}

/** Revealing a key's plaintext needs a session: a leaked API key must not be able to read its siblings. */
export function requireSession(p: Principal): void {
  if (p.kind !== "session") throw new ApiError("session_required", "This action needs a session token from POST /v1/auth/login, not an API key.");
}
