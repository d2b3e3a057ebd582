import { ApiError } from "../errors";
import { parseJsonObject } from "../http/body";
import type { EndpointKind } from "./endpoint";

/**
 * What routing and accounting need from a client's request body; the body itself is forwarded.
 * `choices` is how many answers one request asks for (`n`, and `best_of` on completions): each may be as
 * long as the output cap, so the hold multiplies the output by it (the prompt counts once).
 */
export type RelayBody =
  | { format: "json"; json: Record<string, unknown>; model: string; stream: boolean; clientWantsUsage: boolean; clientMaxOutput: number | null; choices: number }
  | { format: "form"; form: FormData; model: string; stream: false; clientWantsUsage: false; clientMaxOutput: null; choices: 1 }
  | { format: "none"; model: string; stream: false; clientWantsUsage: false; clientMaxOutput: null; choices: 1 };

function maxOutputOf(json: Record<string, unknown>, kind: EndpointKind): number | null {
  if (kind === "messages" && (json.max_tokens === undefined || json.max_tokens === null)) {
    // As Anthropic's API itself: the Messages API has no default output cap.
    throw new ApiError("invalid_request", "max_tokens: Field required (the Messages API needs an output cap).", "max_tokens");
  }
  for (const field of kind === "chat" ? ["max_completion_tokens", "max_tokens"] : ["max_tokens", "max_output_tokens"]) {
    const v = json[field];
    if (v === undefined || v === null) continue;
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 1) {
      throw new ApiError("invalid_request", `'${field}' must be a positive integer.`, field);
    }
    return v;
  }
  return null;
}

function positiveInt(json: Record<string, unknown>, field: string): number {
  const v = json[field];
  if (v === undefined || v === null) return 1;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 1) throw new ApiError("invalid_request", `'${field}' must be a positive integer.`, field);
  return v;
}

/**
 * How many answers the upstream generates for one request. Chat: `n`. Completions: `best_of` answers are
 * generated (and billed) server-side and `n` of them returned, so the larger one counts.
 */
function choicesOf(json: Record<string, unknown>, kind: EndpointKind): number {
  if (kind === "chat") return positiveInt(json, "n");
  if (kind === "completion") return Math.max(positiveInt(json, "n"), positiveInt(json, "best_of"));
  return 1;
}

function requireModel(model: unknown): string {
  if (model === undefined || model === null || model === "") throw new ApiError("invalid_request", "You must provide a model parameter.", "model");
  if (typeof model !== "string" || model.length > 256) throw new ApiError("invalid_request", "'model' must be a string of at most 256 characters.", "model");
  return model;
}

/**
 * Checks a body just enough to route it: well-formed JSON (or form data) with a `model`. Synchronous for
 * JSON and query-string requests (only multipart parsing is asynchronous), so the hot path awaits nothing.
 */
export function parseRelayBody(bytes: Uint8Array, contentType: string | null, kind: EndpointKind, url: URL, method: string): RelayBody | Promise<RelayBody> {
  if (method === "GET" || method === "HEAD" || (method === "DELETE" && bytes.byteLength === 0)) {
    return { format: "none", model: requireModel(url.searchParams.get("model")), stream: false, clientWantsUsage: false, clientMaxOutput: null, choices: 1 };
  }
  if (kind === "other" && contentType && /^multipart\/form-data/i.test(contentType)) return parseForm(bytes, contentType);
  const json = parseJsonObject(bytes, contentType);
  const model = requireModel(json.model);
  if (json.stream !== undefined && json.stream !== null && typeof json.stream !== "boolean") {
    throw new ApiError("invalid_request", "'stream' must be a boolean.", "stream");
  }
  const so = json.stream_options;
  if (so !== undefined && so !== null && (typeof so !== "object" || Array.isArray(so))) {
    throw new ApiError("invalid_request", "'stream_options' must be an object.", "stream_options");
  }
  const stream = json.stream === true;
  const clientWantsUsage = stream && (so as { include_usage?: unknown } | undefined)?.include_usage === true;
  return {
    format: "json", json, model, stream, clientWantsUsage,
    clientMaxOutput: kind === "embedding" || kind === "count_tokens" ? null : maxOutputOf(json, kind), choices: choicesOf(json, kind),
  };
}

async function parseForm(bytes: Uint8Array, contentType: string): Promise<RelayBody> {
  let form: FormData;
  try {
    form = await new Response(bytes as Uint8Array<ArrayBuffer>, { headers: { "content-type": contentType } }).formData();
  } catch {
    throw new ApiError("invalid_request", "The multipart body could not be parsed.");
  }
  return { format: "form", form, model: requireModel(form.get("model")), stream: false, clientWantsUsage: false, clientMaxOutput: null, choices: 1 };
}
