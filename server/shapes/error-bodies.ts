import { anthropicErrorBody } from "./anthropic/errors";

const utf8 = new TextDecoder();
const encoder = new TextEncoder();

/** The message of an error body in either envelope (OpenAI's `error.message`, Anthropic's too), or its text. */
export function errorMessageOf(bytes: Uint8Array): string {
  const text = utf8.decode(bytes);
  try {
    const obj = JSON.parse(text) as { error?: { message?: unknown } | string; message?: unknown };
    const e = obj?.error;
    if (typeof e === "string") return e;
    if (typeof e?.message === "string") return e.message;
    if (typeof obj?.message === "string") return obj.message;
  } catch {
    /* not JSON */
  }
  return text.slice(0, 500) || "no message";
}

/** An upstream's error, re-enveloped for an Anthropic client (the status is kept). */
export function asAnthropicError(status: number, bytes: Uint8Array, requestId: string): Uint8Array {
  return encoder.encode(JSON.stringify(anthropicErrorBody(status, "upstream_error", errorMessageOf(bytes), requestId)));
}

/** An upstream's error, re-enveloped for an OpenAI client (the status is kept). */
export function asOpenAIError(status: number, bytes: Uint8Array): Uint8Array {
  const type = status === 429 ? "rate_limit_error" : status >= 500 ? "server_error" : "invalid_request_error";
  return encoder.encode(JSON.stringify({ error: { message: errorMessageOf(bytes), type, code: "upstream_error", param: null } }));
}
