/** What the relay knows about each OpenAI endpoint: how usage is reported and whether it streams. */
export type EndpointKind = "chat" | "completion" | "embedding" | "other";

export function endpointKind(path: string): EndpointKind {
  switch (path) {
    case "/v1/chat/completions": return "chat";
    case "/v1/completions": return "completion";
    case "/v1/embeddings": return "embedding";
    default: return "other";
  }
}
