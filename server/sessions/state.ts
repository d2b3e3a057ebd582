import type { AppContext } from "../context";
import { LoginLimiter, type LoginLimits } from "./limiter";

/** Per-server session state (ctx.sessions), so several servers in one process stay apart. */
export type SessionState = { secret: Uint8Array; limiter: LoginLimiter };

/** Replaces the login limiter (operators keep the defaults; tests use small thresholds). Forgets past failures. */
export function setLoginLimits(ctx: AppContext, limits: Partial<LoginLimits>): void {
  ctx.sessions.limiter = new LoginLimiter(limits);
}
