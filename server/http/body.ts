import { ApiError } from "../errors";

/**
 * Reads a request body up to `limit` bytes, refusing larger ones without buffering them. A client that
 * hangs up mid-body gets a 400, not the 500 (and error log line) of an unexpected throw.
 */
export function readBody(request: Request, limit: number): Promise<Uint8Array> {
  let read: Promise<Uint8Array>;
  const declared = request.headers.get("content-length");
  if (declared !== null) {
    if (Number(declared) > limit) return Promise.reject(tooLarge(limit));
    // With a Content-Length, Bun reads exactly that many bytes: one native call, and no ReadableStream
    // made for the body (touching `request.body` creates one, a measurable part of a relayed request).
    read = request.bytes();
  } else read = readChunked(request, limit);
  return read.catch((e) => {
    if (e instanceof ApiError || (e as Error)?.name !== "AbortError") throw e;
    throw new ApiError("invalid_request", "The request body was not received completely.");
  });
}

/** A body without Content-Length (chunked, or none): read piece by piece, refused once past the limit. */
async function readChunked(request: Request, limit: number): Promise<Uint8Array> {
  if (!request.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      reader.cancel().catch(() => {});
      throw tooLarge(limit);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

function tooLarge(limit: number): ApiError {
  return new ApiError("payload_too_large", `Request body is larger than the ${limit}-byte limit (RELAY_MAX_BODY_BYTES); send less, or ask the operator to raise it.`);
}

/** One strict decoder for every body: each whole-buffer decode starts afresh, also after one that failed. */
const utf8 = new TextDecoder("utf-8", { fatal: true });

/** Parses a JSON object body with a clear error for each way it can be wrong. */
export function parseJsonObject(bytes: Uint8Array, contentType: string | null): Record<string, unknown> {
  if (contentType && !/^application\/(.+\+)?json\b/i.test(contentType) && !/^text\/plain\b/i.test(contentType)) {
    throw new ApiError("invalid_request", `Content-Type must be application/json, not '${contentType.slice(0, 100)}'.`);
  }
  if (bytes.byteLength === 0) throw new ApiError("invalid_request", "The request body is empty; expected a JSON object.");
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new ApiError("invalid_request", "The request body is not valid UTF-8.");
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new ApiError("invalid_request", `The request body is not valid JSON: ${(e as Error).message.slice(0, 200)}`);
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new ApiError("invalid_request", "The request body must be a JSON object.");
  }
  return value as Record<string, unknown>;
}
