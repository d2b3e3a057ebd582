import { createHmac, randomBytes } from "node:crypto";

/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): a secret is `whsec_` + base64 of random
 * bytes, the HMAC key is those bytes, and each signature is `v1,` + base64 HMAC-SHA256 of
 * `{webhook-id}.{webhook-timestamp}.{body}`. The `standardwebhooks` package and the openai client's
 * `webhooks.unwrap` both verify this.
 */
export const SECRET_PREFIX = "whsec_";

/** A fresh secret: 32 random bytes (Standard Webhooks allows 24 to 64). */
export function newWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString("base64");
}

export function signature(secret: string, msgId: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.slice(SECRET_PREFIX.length), "base64");
  return "v1," + createHmac("sha256", key).update(`${msgId}.${timestamp}.${body}`).digest("base64");
}

/** The headers of one attempt: one signature per live secret, space-separated, so a rotation breaks no receiver. */
export function signedHeaders(secrets: readonly string[], msgId: string, timestamp: number, body: string): Record<string, string> {
  return {
    "content-type": "application/json",
    "webhook-id": msgId,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": secrets.map((s) => signature(s, msgId, timestamp, body)).join(" "),
  };
}
