import { randomBytes } from "node:crypto";

// A random per-process stem plus a counter: unique across restarts (ledger refs depend on it) and
// far cheaper than a UUID per request. Client-supplied ids are never trusted for idempotency.
const stem = randomBytes(6).toString("base64url");
let counter = 0;

/** What every request id of this process starts with (cluster mode frees a killed predecessor's slots by it). */
export function requestIdPrefix(): string {
  return `req_${stem}`;
}

export function newRequestId(): string {
  return `req_${stem}${(++counter).toString(36)}`;
}
