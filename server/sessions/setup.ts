import type { AppContext } from "../context";
import { registerSessionVerifier } from "../auth/authenticate";
import { sessionState } from "./state";
import { authenticateSession } from "./verifier";

/**
 * Turns sessions on: session JWTs become valid Bearer tokens wherever API keys are, and the signing secret
 * is loaded now, so a keyring that cannot decrypt it stops the server at start rather than at the first login.
 */
export function setupSessions(ctx: AppContext): void {
  sessionState(ctx);
  registerSessionVerifier(authenticateSession);
}
