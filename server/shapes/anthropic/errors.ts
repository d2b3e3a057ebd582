/** Anthropic's error types by HTTP status (https://docs.anthropic.com/en/api/errors). */
const TYPE_BY_STATUS: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  402: "billing_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  503: "overloaded_error",
  504: "timeout_error",
  529: "overloaded_error",
};

/** The Anthropic error type for a status: its own, else by class (4xx invalid request, 5xx API error). */
export function anthropicErrorType(status: number): string {
  return TYPE_BY_STATUS[status] ?? (status >= 500 ? "api_error" : "invalid_request_error");
}

/**
 * Anthropic's error envelope, `{"type":"error","error":{"type","message"},"request_id"}`, with relay's own
 * stable code kept visible as `error.code` (clients that know only Anthropic's fields ignore it).
 */
export function anthropicErrorBody(status: number, code: string, message: string, requestId: string) {
  return { type: "error", error: { type: anthropicErrorType(status), message, code }, request_id: requestId };
}
