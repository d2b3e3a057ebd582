import { z } from "zod";
import type { AppContext } from "../context";
import { ApiError } from "../errors";
import { log } from "../log";
import { recordAudit } from "../audit/audit";
import { strictObject } from "../http/strict-object";
import { getUserById, updateUser } from "../users/service";
import { passwordMatches } from "./login";
import { passwordVersion, signSession } from "./jwt";
import type { LoginResult } from "./login";

export const changePasswordInput = strictObject({
  current: z.string().min(1).max(1024),
  new: z.string().min(8, "must be at least 8 characters").max(1024),
});

/**
 * A user changes their own password (after a compromise, say). The current password is checked like a
 * login: a wrong one counts as a failed login for the name and the IP. Every session issued before ends
 * (sessions carry a fingerprint of the password hash); the caller gets a fresh session in the answer.
 */
export async function changeOwnPassword(ctx: AppContext, userId: number, raw: unknown, ip: string): Promise<LoginResult> {
  const input = changePasswordInput.parse(raw);
  const user = await getUserById(ctx, userId);
  if (!user) throw new ApiError("invalid_session", "This session is no longer valid; log in again.");
  const attempt = ctx.sessions.limiter.begin(user.name, ip);
  if (attempt.delayMs > 0) await Bun.sleep(attempt.delayMs);
  if (user.passwordHash === null || !(await passwordMatches(input.current, user.passwordHash))) {
    log.info("password change refused: wrong current password", { ip, userId });
    throw new ApiError("invalid_credentials", "The current password is wrong.", "current");
  }
  attempt.succeeded();
  if (input.new === input.current) throw new ApiError("invalid_request", "The new password must differ from the current one.", "new");
  const actor = { name: `user:${user.name}`, ip };
  const updated = await updateUser(ctx, user.name, { password: input.new }, actor);
  await recordAudit(ctx, actor, "password.change", `user:${user.name}`, {});
  const ttl = ctx.config.RELAY_SESSION_TTL_SECONDS;
  const issued = await signSession(ctx.sessions.secret, user.id, passwordVersion(updated.passwordHash!), ttl);
  return { token: issued.token, expiresAt: issued.expiresAt, expiresIn: ttl };
}
