import { Elysia } from "elysia";
import type { AppContext } from "../context";
import { clientIp } from "../http/caller";
import { login, type LoginResult } from "../sessions/login";
import { changeOwnPassword } from "../sessions/password";
import { authenticateRequest } from "../http/caller";
import { readJson as readBodyJson, requireSession } from "./request";

/** A name and a password never need more; anything larger is refused before it is parsed. */
const LOGIN_MAX_BYTES = 16 * 1024;

// Field names follow the OAuth 2 token response, which HTTP clients already know how to read.
const tokenResponse = (result: LoginResult) => ({
  token: result.token,
  token_type: "Bearer",
  expires_at: result.expiresAt.toISOString(),
  expires_in: result.expiresIn,
});

/**
 * POST /v1/auth/login: name and password in, a short-lived session JWT out. POST /v1/auth/password: a session
 * changes its user's password, ending every other session, and gets a fresh one.
 */
export const loginRoutes = (ctx: AppContext) => {
  return new Elysia({ name: "selfservice-login" })
    .post("/v1/auth/login", async ({ request, server, set }) => {
      const result = await login(ctx, await readBodyJson(ctx, request, LOGIN_MAX_BYTES), clientIp(ctx, request, server));
      set.headers["cache-control"] = "no-store";
      return tokenResponse(result);
    }, { parse: "none" })
    .post("/v1/auth/password", async ({ request, server, set }) => {
      const p = await authenticateRequest(ctx, request, server);
      requireSession(p);
      const result = await changeOwnPassword(ctx, p.userId!, await readBodyJson(ctx, request, LOGIN_MAX_BYTES), p.ip);
      set.headers["cache-control"] = "no-store";
      return tokenResponse(result);
    }, { parse: "none" });
};
