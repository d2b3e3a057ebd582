import { z } from "zod";
import type { AppContext } from "../context";
import { ApiError } from "../errors";
import { log } from "../log";
import { findUserByName } from "../users/service";
import { passwordVersion, signSession } from "./jwt";
import { recordAudit } from "../audit/audit";
import { strictObject } from "../http/strict-object";

export const loginInput = strictObject({
  name: z.string().min(1).max(200),
  password: z.string().min(1).max(1024),
});
export type LoginInput = z.input<typeof loginInput>;

export type LoginResult = { token: string; expiresAt: Date; expiresIn: number };

// Verified against when the name is unknown or has no password, so those cost the same argon2id work as a real check.
let dummyHash: Promise<string> | null = null;
const dummy = () => (dummyHash ??= Bun.password.hash("relay-dummy-password-for-constant-work", { algorithm: "argon2id" }));

export async function passwordMatches(password: string, hash: string): Promise<boolean> {
  try {
    return await Bun.password.verify(password, hash);
  } catch {
    return false; // a malformed stored hash never logs anyone in
  }
}

/**
 * Checks a name and password and issues a session JWT. Unknown names, users without a password and wrong
 * passwords all get the same 401 `invalid_credentials` after the same work; repeated failures are slowed,
 * then refused with 429 (see LoginLimiter).
 */
export async function login(ctx: AppContext, raw: unknown, ip: string): Promise<LoginResult> {
  const input = loginInput.parse(raw);
  const state = ctx.sessions;
  let attempt;
  try {
    attempt = state.limiter.begin(input.name, ip);
  } catch (err) {
    log.warn("login refused: too many failed attempts", { ip });
    throw err;
  }
  if (attempt.delayMs > 0) await Bun.sleep(attempt.delayMs);
  const user = await findUserByName(ctx, input.name);
  const ok = await passwordMatches(input.password, user?.passwordHash ?? (await dummy()));
  if (!user || user.passwordHash === null || !ok) {
    log.info("login failed", { ip, userId: user?.id ?? null });
    throw new ApiError("invalid_credentials", "Incorrect name or password.");
  }
  if (!user.enabled) throw new ApiError("key_disabled", "This user is disabled.");
  attempt.succeeded();
  const ttl = ctx.config.RELAY_SESSION_TTL_SECONDS;
  const issued = await signSession(state.secret, user.id, passwordVersion(user.passwordHash), ttl);
  log.info("login", { userId: user.id, ip, jti: issued.jti });
  await recordAudit(ctx, { name: `user:${user.name}`, ip }, "session.login", `user:${user.name}`, { jti: issued.jti });
  return { token: issued.token, expiresAt: issued.expiresAt, expiresIn: ttl };
}
