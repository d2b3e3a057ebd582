import type { AppContext } from "../context";
import { LoginLimiter, type LoginLimits } from "./limiter";
import { loadSessionSecret } from "./secret";

/** Per-server session state, kept in `ctx.ext.sessions` so several servers in one process stay apart. */
export type SessionState = { secret: Uint8Array; limiter: LoginLimiter };

export function sessionState(ctx: AppContext): SessionState {
  let s = ctx.ext.sessions as SessionState | undefined;
  if (!s) {
    s = { secret: loadSessionSecret(ctx), limiter: new LoginLimiter() };
    ctx.ext.sessions = s;
  }
  return s;
}

/** Replaces the login limiter (operators keep the defaults; tests use small thresholds). Forgets past failures. */
export function setLoginLimits(ctx: AppContext, limits: Partial<LoginLimits>): void {
  sessionState(ctx).limiter = new LoginLimiter(limits);
}
