import type { ApiShape } from "../providers/types";

/**
 * What the relay knows about each endpoint: how usage is reported, whether it streams, which API shape
 * the client speaks. `other` is any OpenAI pass-through family (server/relay/families.ts).
 */
export type EndpointKind = "chat" | "completion" | "embedding" | "messages" | "count_tokens" | "other";

export function endpointKind(path: string): EndpointKind {
  switch (path) {
    case "/v1/chat/completions": return "chat";
    case "/v1/completions": return "completion";
    case "/v1/embeddings": return "embedding";
    case "/v1/messages": return "messages";
    case "/v1/messages/count_tokens": return "count_tokens";
    default: return "other";
  }
}

/** The API shape a client of this endpoint speaks (and expects its answers and errors in). */
export function shapeOfKind(kind: EndpointKind): ApiShape {
  return kind === "messages" || kind === "count_tokens" ? "anthropic" : "openai";
}

/** The shape of a request by its path, for answers written before the endpoint is known (errors). */
export function shapeOfPath(path: string, prefixes: readonly string[] = []): ApiShape {
  for (const base of ["/v1", ...prefixes]) {
    if (path === `${base}/messages` || path.startsWith(`${base}/messages/`)) return "anthropic";
  }
  return "openai";
}

/** Endpoints whose answers are generated text, so they hold (and may be given) an output cap. */
export function producesOutput(kind: EndpointKind): boolean {
  return kind !== "embedding" && kind !== "count_tokens";
}
