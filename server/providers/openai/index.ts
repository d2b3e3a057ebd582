import type { ProviderAdapter } from "../types";

/**
 * Any OpenAI-compatible API: OpenAI, DeepSeek, OpenRouter, Groq, vLLM, Ollama, Gemini's OpenAI endpoint,
 * Azure's v1 endpoint. The base URL is what an OpenAI client takes (…/v1); the client's path is under /v1 too.
 */
export const openAIAdapter: ProviderAdapter = {
  shape: "openai",
  url(channel, { path, search }) {
    return channel.row.baseUrl + (path.startsWith("/v1") ? path.slice(3) : path) + search;
  },
  authHeaders(channel) {
    return { authorization: `Bearer ${channel.apiKey}` };
  },
  forwardsHeader(name) {
    return !name.startsWith("anthropic-");
  },
  probe(model) {
    return { path: "/v1/chat/completions", body: { model, messages: [{ role: "user", content: "ping" }], max_tokens: 1 } };
  },
};
