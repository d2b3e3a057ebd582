import { Elysia } from "elysia";
import type { AppContext } from "../context";
import { clientIp } from "../http/caller";
import { login } from "../sessions/login";
import { setupSessions } from "../sessions/setup";
import { readJson } from "./request";

/** A name and a password never need more; anything larger is refused before it is parsed. */
const LOGIN_MAX_BYTES = 16 * 1024;

/** POST /v1/auth/login: name and password in, a short-lived session JWT out. Also turns session auth on. */
export const loginRoutes = (ctx: AppContext) => {
  setupSessions(ctx);
  return new Elysia({ name: "selfservice-login" }).post(
    "/v1/auth/login",
    async ({ request, server, set }) => {
      const result = await login(ctx, await readJson(ctx, request, LOGIN_MAX_BYTES), clientIp(ctx, request, server));
      set.headers["cache-control"] = "no-store";
      // Field names follow the OAuth 2 token response, which HTTP clients already know how to read.
      return {
        token: result.token,
        token_type: "Bearer",
        expires_at: result.expiresAt.toISOString(),
        expires_in: result.expiresIn,
      };
    },
    { parse: "none" },
  );
};
