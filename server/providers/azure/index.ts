import type { ProviderAdapter } from "../types";
import { openAIAdapter } from "../openai";

/**
 * Operations Azure OpenAI addresses per deployment: `{base}/openai/deployments/{deployment}/{operation}`.
 * Everything else (files, batches, responses …) lives at `{base}/openai/{path}`.
 */
const DEPLOYMENT_OPERATIONS = ["chat/completions", "completions", "embeddings", "audio/", "images/"];

/**
 * Azure OpenAI deployments: `{base}/openai/deployments/{deployment}/{operation}?api-version={version}`, the key
 * in an `api-key` header. The deployment is the upstream model id: `--map model=deployment`, or the model's
 * own name. The body is OpenAI's (Azure ignores its `model`).
 */
export const azureAdapter: ProviderAdapter = {
  shape: "openai",
  url(channel, { path, search, upstreamModel }) {
    const base = channel.row.baseUrl.replace(/\/openai$/, "");
    const rest = path.startsWith("/v1/") ? path.slice(4) : path.replace(/^\//, "");
    const query = new URLSearchParams(search);
    query.set("api-version", channel.row.apiVersion ?? "");
    const scoped = DEPLOYMENT_OPERATIONS.some((op) => rest === op || rest.startsWith(op));
    const target = scoped ? `deployments/${encodeURIComponent(upstreamModel)}/${rest}` : rest;
    return `${base}/openai/${target}?${query}`;
  },
  authHeaders(channel) {
    return { "api-key": channel.apiKey };
  },
  forwardsHeader: openAIAdapter.forwardsHeader,
  probe: openAIAdapter.probe,
};
