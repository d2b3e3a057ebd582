import type { AppContext } from "../context";
import type { ApiError, Caller } from "../errors";
import type { RequestRecord } from "./settlement";

/**
 * Refused requests made visible. Every refusal is counted in /metrics by its code. One whose caller was
 * identified (a verified key, or a session) is also logged as a usage row, through the same batched writer
 * as settlements, with cost 0: the audit then shows every call a key made, refused or not. Unknown keys
 * are only counted: a flood of made-up keys must not be able to fill the disk.
 */
const callers = new WeakMap<Request, Caller>();
/** Errors whose request the relay already wrote a usage row for (settled after admission); never logged twice. */
const accounted = new WeakSet<ApiError>();

/**
 * Remembers who a request's caller is, once authentication knows (routes other than the relay's: the relay
 * puts the caller on its refusals itself, so its hot path keeps no per-request record).
 */
export function noteCaller(request: Request, caller: Caller): void {
  callers.set(request, caller);
}

/** Puts the caller (and the model asked for, when known) on a refusal that has none yet. */
export function refusedBy(err: ApiError, caller: Caller, model: string | null): void {
  if (!err.caller) err.caller = caller;
  if (model !== null && err.caller.model === undefined) err.caller.model = model;
}

/** The request of this error was already accounted for (its usage row written by the relay). */
export function markAccounted(err: ApiError): void {
  accounted.add(err);
}

/** Counts a refusal and, for an identified caller, queues its usage row. Called by the public app's error handler. */
export function recordRefusal(ctx: AppContext, request: Request, err: ApiError, requestId: string, endpoint: string): void {
  const metrics = ctx.metrics;
  metrics.observeRefusal(err.errorCode);
  if (accounted.has(err)) return;
  const caller = err.caller ?? callers.get(request);
  if (!caller) return;
  const model = caller.model ?? "";
  const record: RequestRecord = {
    requestId, accountId: caller.accountId, orgId: caller.orgId, userId: caller.userId, keyId: caller.keyId, keyLabel: caller.keyLabel,
    keyPrefix: caller.keyPrefix, sourceIp: caller.ip, endpoint,
    model, upstreamModel: "", channelId: null, status: err.status, errorCode: err.errorCode, stream: false,
    promptTokens: 0, completionTokens: 0, tokensEstimated: false, ttfbMs: null, totalMs: 0, errorDetail: null, refused: true, cachedTokens: 0, cacheWriteTokens: 0,
  };
  metrics.observeRequest(record, 0);
  ctx.writer.enqueue({ record, cost: 0, tokens: 0, shortfall: 0, at: Date.now() });
}
