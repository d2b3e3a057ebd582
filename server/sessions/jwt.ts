import { createHash, randomUUID } from "node:crypto";
import { errors, jwtVerify, SignJWT } from "jose";
import { ApiError } from "../errors";

const ISSUER = "relay";
const AUDIENCE = "relay:session";
/** Only this algorithm is accepted: `alg: none`, RS/ES algorithms and anything else fail verification. */
const ALGORITHMS = ["HS256"];

export type SessionClaims = {
  userId: number;
  /** Fingerprint of the password hash the session was issued under (see `passwordVersion`). */
  pwv: string;
  jti: string;
  issuedAt: number;
  expiresAt: number;
};

export type IssuedSession = { token: string; jti: string; issuedAt: Date; expiresAt: Date };

/**
 * A short fingerprint of a user's password hash. Carried in the token and compared on every request, so
 * setting a new password ends every session issued under the old one. It reveals nothing about the hash.
 */
export function passwordVersion(passwordHash: string): string {
  return createHash("sha256").update(passwordHash).digest("base64url").slice(0, 16);
}

/** Signs a session JWT for `userId` that expires `ttlSeconds` from `now`. */
export async function signSession(secret: Uint8Array, userId: number, pwv: string, ttlSeconds: number, now = Date.now()): Promise<IssuedSession> {
  const iat = Math.floor(now / 1000);
  const exp = iat + ttlSeconds;
  const jti = randomUUID();
  const token = await new SignJWT({ pwv })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject(String(userId))
    .setJti(jti)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(secret);
  return { token, jti, issuedAt: new Date(iat * 1000), expiresAt: new Date(exp * 1000) };
}

const invalid = () => new ApiError("invalid_session", "Invalid session token.");

/**
 * Verifies signature, algorithm, issuer, audience and expiry (no clock tolerance) and returns the claims.
 * Every failure is a 401 `invalid_session`; only expiry gets its own message, since it tells the client to log in again.
 */
export async function verifySession(secret: Uint8Array, token: string): Promise<SessionClaims> {
  let payload;
  try {
    ({ payload } = await jwtVerify(token, secret, {
      algorithms: ALGORITHMS,
      issuer: ISSUER,
      audience: AUDIENCE,
      requiredClaims: ["sub", "jti", "iat", "exp"],
    }));
  } catch (err) {
    if (err instanceof errors.JWTExpired) throw new ApiError("invalid_session", "The session has expired; log in again.");
    throw invalid();
  }
  const sub = payload.sub ?? "";
  const userId = /^[1-9][0-9]{0,15}$/.test(sub) ? Number(sub) : NaN;
  if (!Number.isSafeInteger(userId) || typeof payload.pwv !== "string" || typeof payload.jti !== "string") throw invalid();
  return { userId, pwv: payload.pwv, jti: payload.jti, issuedAt: payload.iat! * 1000, expiresAt: payload.exp! * 1000 };
}
