import type { Principal, SessionVerifier } from "../auth/authenticate";
import { ApiError } from "../errors";
import { hashesEqual } from "../keys/key-format";
import { ALL_SCOPES } from "../auth/scopes";
import { getUserById, personalAccount } from "../users/service";
import { passwordVersion, verifySession } from "./jwt";

/**
 * Checks a session JWT presented as a Bearer token. The user is read fresh on every request (one indexed
 * lookup), so disabling the user or setting a new password ends their sessions on the very next request.
 * A session acts for its user, on the user's personal account, with every scope; in an org, the user's
 * role there decides (server/orgs/).
 */
export const authenticateSession: SessionVerifier = async (ctx, token, ip): Promise<Principal> => {
  const claims = await verifySession(ctx.sessions.secret, token);
  const user = await getUserById(ctx, claims.userId);
  if (!user || user.passwordHash === null || !hashesEqual(passwordVersion(user.passwordHash), claims.pwv)) {
    throw new ApiError("invalid_session", "This session is no longer valid; log in again.");
  }
  if (!user.enabled) throw new ApiError("key_disabled", "This user is disabled.");
  const account = await personalAccount(ctx, user);
  return { kind: "session", accountId: account.id, account, userId: user.id, user, entry: null, membership: null, scopes: ALL_SCOPES, ip };
};
