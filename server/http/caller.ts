import type { Server } from "bun";
import type { AppContext } from "../context";
import type { Caller } from "../errors";
import { authenticate, type Principal } from "../auth/authenticate";
import { normalizeIp } from "../net/cidr";
import { resolveClientIp } from "../net/client-ip";
import { noteCaller } from "../usage/refusals";
import { keyPrefixOf } from "../keys/key-format";

// Parsing the peer address with ipaddr.js was about a tenth of the relay's CPU per request; the same few
// peers (keep-alive clients, a proxy) come back all the time, so their normalised form is remembered.
const peers = new Map<string, string>();

function normalizedPeer(address: string): string {
  let ip = peers.get(address);
  if (ip === undefined) {
    if (peers.size >= 10_000) peers.clear();
    peers.set(address, (ip = normalizeIp(address)));
  }
  return ip;
}

/** The client's IP for this request (socket peer, or X-Forwarded-For behind a trusted proxy). */
export function clientIp(ctx: AppContext, request: Request, server: Server<unknown> | null): string {
  const peer = server?.requestIP(request)?.address ?? "";
  const forwardedFor = request.headers.get("x-forwarded-for");
  // resolveClientIp returns the normalised peer in exactly this case.
  if (!forwardedFor || ctx.trustedProxies.length === 0) return normalizedPeer(peer);
  return resolveClientIp(peer, forwardedFor, ctx.trustedProxies);
}

/**
 * Authenticates the request's key (or session); throws the matching ApiError. The relay's own path: it
 * tells its refusals who made them itself, so nothing is remembered per request here.
 */
export function authenticateRelayRequest(ctx: AppContext, request: Request, server: Server<unknown> | null): Principal | Promise<Principal> {
  return authenticate(ctx, request.headers.get("authorization"), clientIp(ctx, request, server), request.headers.get("x-api-key"));
}

/**
 * The same for every other route (self-service, /v1/me, /v1/models): the caller is remembered for the
 * request, so a later refusal (scope, a bad body, an unknown id) is logged under it (usage/refusals.ts).
 */
export function authenticateRequest(ctx: AppContext, request: Request, server: Server<unknown> | null): Principal | Promise<Principal> {
  const p = authenticateRelayRequest(ctx, request, server);
  if (p instanceof Promise) return p.then((s) => remember(ctx, request, s));
  return remember(ctx, request, p);
}

/** Who a principal is, as refusals are logged. */
export function callerOfPrincipal(ctx: AppContext, p: Principal): Caller {
  const key = p.entry?.key;
  return {
    accountId: p.accountId, orgId: p.account.kind === "org" ? p.account.id : null, userId: p.userId, keyId: key?.id ?? null,
    keyLabel: key?.label ?? "", keyPrefix: key ? keyPrefixOf(ctx, key) : "session", ip: p.ip,
  };
}

function remember(ctx: AppContext, request: Request, p: Principal): Principal {
  noteCaller(request, callerOfPrincipal(ctx, p));
  return p;
}
