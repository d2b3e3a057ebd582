import { anthropicErrorBody } from "./shapes/anthropic/errors";

/**
 * The one error module: a closed set of codes, one map from code to HTTP status and OpenAI error type,
 * one error class, and the OpenAI-shaped envelope every error response uses.
 */
export const errorCodes = {
  invalid_request: [400, "invalid_request_error"],
  invalid_api_key: [401, "authentication_error"],
  key_disabled: [401, "authentication_error"],
  key_expired: [401, "authentication_error"],
  key_revoked: [401, "authentication_error"],
  invalid_session: [401, "authentication_error"],
  invalid_credentials: [401, "authentication_error"],
  quota_exceeded: [402, "insufficient_quota"],
  key_spend_limit_exceeded: [402, "insufficient_quota"],
  member_spend_limit_exceeded: [402, "insufficient_quota"],
  ip_not_allowed: [403, "permission_error"],
  insufficient_scope: [403, "permission_error"],
  model_not_allowed: [403, "permission_error"],
  org_suspended: [403, "permission_error"],
  org_forbidden: [403, "permission_error"],
  reveal_disabled: [403, "permission_error"],
  session_required: [403, "permission_error"],
  not_found: [404, "invalid_request_error"],
  model_not_found: [404, "invalid_request_error"],
  method_not_allowed: [405, "invalid_request_error"],
  conflict: [409, "invalid_request_error"],
  object_channel_unavailable: [409, "invalid_request_error"],
  payload_too_large: [413, "invalid_request_error"],
  concurrency_limit_exceeded: [429, "rate_limit_error"],
  rate_limit_exceeded: [429, "rate_limit_error"],
  monthly_quota_exceeded: [429, "rate_limit_error"],
  too_many_attempts: [429, "rate_limit_error"],
  internal_error: [500, "server_error"],
  upstream_error: [502, "upstream_error"],
  no_channel_available: [503, "server_error"],
  service_unavailable: [503, "server_error"],
  upstream_timeout: [504, "upstream_error"],
} as const satisfies Record<string, readonly [number, string]>;

export type ErrorCode = keyof typeof errorCodes;

export function statusOf(code: ErrorCode): number {
  return errorCodes[code][0];
}

/**
 * Who made a refused request, when relay could tell: refusals of identified callers are logged as usage
 * rows, with the model the request asked for when it was read.
 */
export type Caller = {
  accountId: number; orgId: number | null; userId: number | null; keyId: number | null; keyLabel: string; keyPrefix: string; ip: string; model?: string;
};

export class ApiError extends Error {
  readonly status: number;
  /** Set when the caller was identified before the refusal (a disabled key, an IP outside its allow-list …). */
  caller?: Caller;
  constructor(
    readonly errorCode: ErrorCode,
    message: string,
    readonly param: string | null = null,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.status = errorCodes[errorCode][0];
  }
}

export type ErrorBody = { error: { message: string; type: string; code: ErrorCode; param: string | null } };

export function errorBody(code: ErrorCode, message: string, param: string | null = null): ErrorBody {
  return { error: { message, type: errorCodes[code][1], code, param } };
}

/**
 * A complete JSON error response with the request id attached, in the client's envelope: OpenAI's
 * `{"error":{message,type,code,param}}`, or Anthropic's `{"type":"error","error":{type,message,code},"request_id"}`
 * for the Messages API's routes.
 */
export function errorResponse(err: ApiError, requestId: string, shape: "openai" | "anthropic" = "openai"): Response {
  const body = shape === "anthropic" ? anthropicErrorBody(err.status, err.errorCode, err.message, requestId) : errorBody(err.errorCode, err.message, err.param);
  return new Response(JSON.stringify(body), {
    status: err.status,
    headers: { "content-type": "application/json", "x-request-id": requestId, ...err.headers },
  });
}
