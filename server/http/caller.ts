import type { Server } from "bun";
import type { AppContext } from "../context";
import { authenticate, type Principal } from "../auth/authenticate";
import { resolveClientIp } from "../net/client-ip";

/** The client's IP for this request (socket peer, or X-Forwarded-For behind a trusted proxy). */
export function clientIp(ctx: AppContext, request: Request, server: Server<unknown> | null): string {
  const peer = server?.requestIP(request)?.address ?? "";
  return resolveClientIp(peer, request.headers.get("x-forwarded-for"), ctx.trustedProxies);
}

/** Authenticates the request's bearer token; throws the matching ApiError. */
export function authenticateRequest(ctx: AppContext, request: Request, server: Server<unknown> | null): Promise<Principal> {
  return authenticate(ctx, request.headers.get("authorization"), clientIp(ctx, request, server));
}
