import type { Principal, SessionVerifier } from "../auth/authenticate";
import { ApiError } from "../errors";
import { hashesEqual } from "../keys/key-format";
import { SCOPES, type Scope } from "../keys/model";
import { getUserById } from "../users/service";
import { passwordVersion, verifySession } from "./jwt";
import { sessionState } from "./state";

/** A session acts for its user with every scope; only revealing keys is reserved to sessions. */
const SESSION_SCOPES: ReadonlySet<Scope> = new Set(SCOPES);

/**
 * Checks a session JWT presented as a Bearer token. The user is read fresh on every request (one indexed
 * lookup), so disabling the user or setting a new password ends their sessions on the very next request.
 */
export const authenticateSession: SessionVerifier = async (ctx, token, ip): Promise<Principal> => {
  const claims = await verifySession(sessionState(ctx).secret, token);
  const user = getUserById(ctx, claims.userId);
  if (!user || user.passwordHash === null || !hashesEqual(passwordVersion(user.passwordHash), claims.pwv)) {
    throw new ApiError("invalid_session", "This session is no longer valid; log in again.");
  }
  if (!user.enabled) throw new ApiError("key_disabled", "This user is disabled.");
  return { kind: "session", userId: user.id, user, entry: null, scopes: SESSION_SCOPES, ip };
};
