import { Elysia } from "elysia";
import { ZodError } from "zod";
import { ApiError, errorResponse } from "../errors";
import { shapeOfPath } from "../relay/endpoint";
import { log } from "../log";
import { KeyringError } from "../keyring/keyring";
import { newRequestId } from "./request-id";

const ids = new WeakMap<Request, string>();

/** The request id assigned to this request by `withErrors`. */
export function requestIdOf(request: Request): string {
  return ids.get(request) ?? "";
}

/** Maps anything thrown to an ApiError: ours pass through, zod issues become 400s, the rest are bugs (500, logged). */
export function toApiError(error: unknown, elysiaCode?: string | number): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof ZodError) {
    const issue = error.issues[0]!;
    const path = issue.path.join(".");
    // strictObject (strict-object.ts) writes its own unknown-field message, with suggestions.
    const msg = issue.code === "unrecognized_keys"
      ? issue.message.startsWith("unknown field") ? issue.message : `unknown field(s): ${issue.keys.join(", ")}`
      : `${path ? path + ": " : ""}${issue.message}`;
    return new ApiError("invalid_request", msg, path || null);
  }
  // decodeURIComponent on a path or query piece with a malformed %-escape: the client's URL is wrong.
  if (error instanceof URIError) return new ApiError("invalid_request", "The URL contains a malformed percent-encoding.");
  if (error instanceof KeyringError) return new ApiError("internal_error", error.message);
  switch (elysiaCode) {
    case "NOT_FOUND": return new ApiError("not_found", "No such route.");
    case "PARSE": return new ApiError("invalid_request", "The request body could not be parsed.");
    case "VALIDATION": return new ApiError("invalid_request", "The request failed validation.");
    case "INVALID_COOKIE_SIGNATURE": return new ApiError("invalid_request", "Invalid cookie.");
  }
  return new ApiError("internal_error", "Internal error.");
}

/** The path of a request URL without parsing it whole. */
export function pathOf(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start === -1) return "/";
  const q = url.indexOf("?", start);
  return (q === -1 ? url.slice(start) : url.slice(start, q)).slice(0, 200);
}

/** Told about every error answer, after it is mapped (the public app logs refusals through it). */
export type OnRefused = (request: Request, error: ApiError, requestId: string) => void;

/**
 * Gives every request an `x-request-id` and turns every error into the OpenAI error envelope.
 * Registered first so it covers all routes composed after it (scoped as global).
 */
export const withErrors = (name: string, onRefused?: OnRefused, apiPrefixes: readonly string[] = []) =>
  new Elysia({ name: `errors:${name}` })
    .onRequest(({ request }) => {
      ids.set(request, newRequestId());
      // Without a usable Host (HTTP/1.0 without one, an empty or malformed one) Bun leaves request.url
      // relative or unparseable, and every `new URL(request.url)` downstream would throw a 500.
      if (!URL.canParse(request.url)) throw new ApiError("invalid_request", "The request's Host header or target is malformed.");
      // Elysia's router finds the path with url.indexOf("/", 11), which assumes "http://" plus a host of at
      // least 4 characters; with a shorter Host it would route one path while handlers read another.
      if (request.url.indexOf("/", request.url.indexOf("//") + 2) < 11) throw new ApiError("invalid_request", "The Host header is too short.");
    })
    // The id goes on the response here rather than into `set.headers` up front: with any header in `set`,
    // Elysia rebuilds every Response a handler returns (a new Response around its body, headers merged),
    // which for the relay's streams was several percent of a request's CPU. The relay sets it itself.
    .onAfterHandle({ as: "global" }, ({ request, response, set }) => {
      const id = ids.get(request) ?? "";
      if (!(response instanceof Response)) set.headers["x-request-id"] = id;
      else if (!response.headers.has("x-request-id")) response.headers.set("x-request-id", id);
    })
    .onError({ as: "global" }, ({ error, code, request }) => {
      const err = toApiError(error, code);
      if (err.status >= 500 && !(error instanceof ApiError)) {
        log.error("unhandled error", { requestId: ids.get(request), error: String(error), stack: (error as Error)?.stack });
      }
      if (onRefused) {
        try {
          onRefused(request, err, ids.get(request) ?? "");
        } catch (e) {
          log.error("could not record a refusal", { requestId: ids.get(request), error: String(e) });
        }
      }
      return errorResponse(err, ids.get(request) ?? "", shapeOfPath(pathOf(request.url), apiPrefixes));
    });
