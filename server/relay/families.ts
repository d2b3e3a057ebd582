/**
 * The OpenAI API families relay passes through to a channel, as the first path segments under /v1. This
 * table is the one place that decides what may reach an upstream: any other /v1 path is answered 404 by
 * relay itself, so a typo (`/v1/chat/completion`) or another product's route never leaves the relay.
 * A family covers its sub-paths (`audio` covers /v1/audio/speech, /v1/audio/transcriptions …).
 */
export const PASS_THROUGH_FAMILIES = [
  "assistants",
  "audio",
  "batches",
  "chat/completions", // stored chat completions: /v1/chat/completions/{id} …
  "containers",
  "conversations",
  "evals",
  "files",
  "fine_tuning",
  "images",
  "moderations",
  "realtime",
  "responses",
  "threads",
  "uploads",
  "vector_stores",
  "videos",
] as const;

/** Paths with a route of their own, also offered as suggestions for a mistyped path. */
export const NAMED_ROUTES = ["chat/completions", "completions", "embeddings", "messages", "messages/count_tokens", "models", "me", "keys", "usage", "orgs", "auth/login", "openapi.json"];

/** Whether a /v1 path belongs to a family relay forwards. */
export function isPassThrough(path: string): boolean {
  if (!path.startsWith("/v1/")) return false;
  const rest = path.slice(4);
  for (const f of PASS_THROUGH_FAMILIES) {
    if (rest === f || (rest.startsWith(f) && rest.charCodeAt(f.length) === 0x2f)) return true;
  }
  return false;
}
