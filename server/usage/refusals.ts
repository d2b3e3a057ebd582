import type { AppContext } from "../context";
import type { ApiError, Caller } from "../errors";
import { metricsOf } from "../metrics/registry";
import type { RequestRecord } from "./settlement";

/**
 * Refused requests made visible. Every refusal is counted in /metrics by its code. One whose caller was
 * identified (a verified key, or a session) is also logged as a usage row, through the same batched writer
 * as settlements, with cost 0: the audit then shows every call a key made, refused or not. Unknown keys
 * are only counted: a flood of made-up keys must not be able to fill the disk.
 */
const callers = new WeakMap<Request, Caller>();
const models = new WeakMap<Request, string>();
/** Requests whose usage row the relay already wrote (settled after admission); never logged twice. */
const accounted = new WeakSet<Request>();

/** Remembers who a request's caller is, once authentication knows. */
export function noteCaller(request: Request, caller: Caller): void {
  callers.set(request, caller);
}

/** Remembers the model a request asked for, once its body is read. */
export function noteModel(request: Request, model: string): void {
  models.set(request, model);
}

export function markAccounted(request: Request): void {
  accounted.add(request);
}

/** Counts a refusal and, for an identified caller, queues its usage row. Called by the public app's error handler. */
export function recordRefusal(ctx: AppContext, request: Request, err: ApiError, requestId: string, endpoint: string): void {
  const model = models.get(request) ?? "";
  const metrics = metricsOf(ctx);
  metrics.observeRefusal(err.errorCode);
  if (accounted.has(request)) return;
  const caller = err.caller ?? callers.get(request);
  if (!caller) return;
  const record: RequestRecord = {
    requestId, userId: caller.userId, keyId: caller.keyId, keyPrefix: caller.keyPrefix, sourceIp: caller.ip, endpoint,
    model, upstreamModel: "", channelId: null, status: err.status, errorCode: err.errorCode, stream: false,
    promptTokens: 0, completionTokens: 0, tokensEstimated: false, ttfbMs: null, totalMs: 0, errorDetail: null, refused: true, cachedTokens: 0, cacheWriteTokens: 0,
  };
  metrics.observeRequest(record, 0);
  ctx.writer.enqueue({ record, cost: 0, tokens: 0, shortfall: 0, at: Date.now() });
}
