import type { Server } from "bun";
import { ApiError, errorResponse } from "../errors";
import type { AppContext } from "../context";
import { authenticateRequest } from "../http/caller";
import { readBody } from "../http/body";
import { requestIdOf } from "../http/errors-plugin";
import { requireModelAllowed, requireScope, type Principal } from "../auth/authenticate";
import { registryOf, type LiveChannel } from "../channels/registry";
import { admit, type Hold } from "../limits/admission";
import { publicPrefix } from "../keys/key-format";
import { recordRequest, type RequestRecord } from "../usage/recorder";
import { metricsOf } from "../metrics/registry";
import { endpointKind } from "./endpoint";
import { parseRelayBody, type RelayBody } from "./parse";
import { orderCandidates } from "./select";
import { countPrompt, promptBound } from "./tokens";
import { isRetryableStatus, readWithIdleTimeout, sendUpstream, upstreamHeaders, upstreamUrl } from "./upstream";
import { usageOf } from "./sse";
import { relaySse } from "./stream";

const utf8 = new TextDecoder();

/** Per-request state shared by the steps below. */
type Job = {
  ctx: AppContext;
  request: Request;
  requestId: string;
  started: number;
  principal: Principal;
  path: string;
  search: string;
  body: RelayBody;
  hold: Hold;
};

/** Relays one /v1 request: authenticate, check, hold, try channels in order, then account for it exactly once. */
export async function relay(ctx: AppContext, request: Request, server: Server<unknown> | null): Promise<Response> {
  const started = performance.now();
  const requestId = requestIdOf(request);
  const url = new URL(request.url);
  const authenticated = authenticateRequest(ctx, request, server);
  const principal = authenticated instanceof Promise ? await authenticated : authenticated; // keys: no await
  requireScope(principal, "inference");
  const kind = endpointKind(url.pathname);
  const bytes = await readBody(request, ctx.config.RELAY_MAX_BODY_BYTES);
  const parsed = parseRelayBody(bytes, request.headers.get("content-type"), kind, url, request.method);
  const body = parsed instanceof Promise ? await parsed : parsed;
  requireModelAllowed(principal, body.model);
  const group = principal.entry?.key.group ?? "either";
  const candidates = registryOf(ctx).serving(body.model, group);
  if (candidates.length === 0) throw new ApiError("model_not_found", `The model '${body.model}' does not exist or you do not have access to it.`, "model");

  const key = principal.entry?.key ?? null;
  let hold: Hold;
  try {
    hold = admit(ctx, {
      requestId, userId: principal.userId, concurrency: principal.user.concurrency, monthlyTokens: principal.user.monthlyTokens,
      keyId: key?.id ?? null, spendLimit: key?.spendLimit ?? null, model: body.model,
      // Every prompt token is at least one byte of the body, so its size bounds the prompt at no cost;
      // the tokenizer is asked only when that bound would make a difference to the hold.
      promptTokens: body.format === "json" ? bytes.byteLength + 32 : 0,
      refinePromptTokens: body.format === "json" ? () => promptBound(body.json, bytes.byteLength) : undefined,
      clientMaxOutput: body.clientMaxOutput, producesOutput: kind === "chat" || kind === "completion" || kind === "other",
    });
  } catch (err) {
    // Requests the limits refuse (429, 402) never reach `finish`; count them anyway, or /metrics
    // "requests by status" would hide exactly the rejections operators need to see.
    if (err instanceof ApiError) metricsOf(ctx).observeRefusal(err.status, body.model);
    throw err;
  }
  const job: Job = { ctx, request, requestId, started, principal, path: url.pathname, search: url.search, body, hold };
  try {
    return await attempt(job, orderCandidates(candidates));
  } catch (err) {
    finish(job, null, null, { status: err instanceof ApiError ? err.status : 500, errorCode: err instanceof ApiError ? err.errorCode : "internal_error" });
    throw err;
  }
}

function buildBody(job: Job, channel: LiveChannel): { body: BodyInit | null; contentType: string | null; upstreamModel: string } {
  const b = job.body;
  const upstreamModel = channel.row.modelMap[b.model] ?? b.model;
  if (b.format === "none") return { body: null, contentType: null, upstreamModel };
  if (b.format === "form") {
    if (upstreamModel !== b.model) b.form.set("model", upstreamModel);
    return { body: b.form, contentType: null, upstreamModel };
  }
  const json: Record<string, unknown> = { ...b.json, model: upstreamModel };
  // Ask for usage in chat and completion streams; the extra chunk is dropped again when the client did not
  // ask for it. Other endpoints (the Responses API) report usage in their last event unasked, and may
  // refuse an option they do not know.
  const kind = endpointKind(job.path);
  if (b.stream && (kind === "chat" || kind === "completion")) {
    json.stream_options = { ...(b.json.stream_options as object | undefined), include_usage: true };
  }
  if (job.hold.injectMaxOutput !== null) {
    if (kind !== "other") json.max_tokens = job.hold.injectMaxOutput;
    // The Responses API calls it max_output_tokens. Without a bound its answer could outgrow the hold,
    // and since a charge never passes the hold, the user would get the excess for free.
    else if (job.path === "/v1/responses") json.max_output_tokens = job.hold.injectMaxOutput;
  }
  return { body: JSON.stringify(json), contentType: "application/json", upstreamModel };
}

async function attempt(job: Job, order: LiveChannel[]): Promise<Response> {
  const { ctx, request } = job;
  let tries = 0;
  let last: { status?: number; body?: Uint8Array; contentType?: string | null; message: string; timeout: boolean; channel: LiveChannel } | null = null;
  for (const channel of order) {
    if (tries >= ctx.config.RELAY_MAX_ATTEMPTS) break;
    if (!channel.breaker.tryAcquire()) continue;
    tries++;
    const { body, contentType, upstreamModel } = buildBody(job, channel);
    const a = await sendUpstream(channel, upstreamUrl(channel, job.path, job.search),
      { method: request.method, headers: upstreamHeaders(request.headers, channel, contentType), body },
      channel.row.firstByteTimeoutMs ?? ctx.config.RELAY_FIRST_BYTE_TIMEOUT_MS, request.signal);
    if (a.kind === "failed") {
      if (request.signal.aborted) {
        channel.breaker.onNeutral();
        return clientGone(job, channel, upstreamModel);
      }
      channel.breaker.onFailure(a.message);
      last = { ...a, channel };
      continue;
    }
    const { res, ttfbMs, abort, alsoOnClientAbort } = a;
    const idleMs = channel.row.idleTimeoutMs ?? ctx.config.RELAY_STREAM_IDLE_TIMEOUT_MS;
    const isSse = (res.headers.get("content-type") ?? "").includes("text/event-stream");
    if (res.ok && isSse && res.body) {
      channel.breaker.onSuccess();
      return streamResponse(job, channel, upstreamModel, res, abort, alsoOnClientAbort, ttfbMs, idleMs);
    }
    const bytes = await readWithIdleTimeout(res, abort, idleMs);
    if (bytes === null) {
      if (request.signal.aborted) {
        channel.breaker.onNeutral();
        return clientGone(job, channel, upstreamModel);
      }
      channel.breaker.onFailure(`${channel.row.name}: body failed or stalled`);
      last = { message: `the upstream body failed or stalled`, timeout: true, channel };
      continue;
    }
    if (isRetryableStatus(res.status)) {
      channel.breaker.onFailure(`${channel.row.name}: HTTP ${res.status}`);
      last = { status: res.status, body: bytes, contentType: res.headers.get("content-type"), message: `HTTP ${res.status}`, timeout: false, channel };
      continue;
    }
    channel.breaker.onSuccess();
    let usage: { prompt: number; completion: number } | null = null;
    if (res.ok && (res.headers.get("content-type") ?? "").includes("json")) {
      try {
        usage = usageOf(JSON.parse(utf8.decode(bytes)));
      } catch {
        /* a JSON content type with a broken body: pass it on, meter nothing */
      }
    }
    finish(job, channel, upstreamModel, {
      status: res.status, errorCode: res.ok ? null : "upstream_error", ttfbMs,
      promptTokens: usage?.prompt ?? 0, completionTokens: usage?.completion ?? 0,
    });
    return new Response(bytes as Uint8Array<ArrayBuffer>, { status: res.status, headers: responseHeaders(job, res.headers.get("content-type")) });
  }
  return exhausted(job, last, tries);
}

function exhausted(job: Job, last: { status?: number; body?: Uint8Array; contentType?: string | null; message: string; timeout: boolean; channel: LiveChannel } | null, tries: number): Response {
  if (!last) {
    throw new ApiError("no_channel_available", `Every channel serving '${job.body.model}' is cooling down after failures; try again shortly.`, null, { "retry-after": "5" });
  }
  finish(job, last.channel, null, { status: last.status ?? (last.timeout ? 504 : 502), errorCode: last.status === 429 ? "upstream_rate_limited" : last.timeout ? "upstream_timeout" : "upstream_error" });
  if (last.status !== undefined && last.body) {
    // The last upstream's own 429/5xx, as it was, so the client's SDK can back off as usual.
    return new Response(last.body as Uint8Array<ArrayBuffer>, { status: last.status, headers: responseHeaders(job, last.contentType ?? "application/json") });
  }
  const code = last.timeout ? "upstream_timeout" : "upstream_error";
  return errorResponse(new ApiError(code, `All ${tries} upstream attempt(s) failed; last: ${last.message}`), job.requestId);
}

async function streamResponse(job: Job, channel: LiveChannel, upstreamModel: string, res: Response, abort: AbortController,
  onClientAbort: (fn: () => void) => void, ttfbMs: number, idleMs: number): Promise<Response> {
  const b = job.body;
  const stream = await relaySse({
    body: res.body!, abort, idleMs, clientWantsUsage: b.clientWantsUsage, onClientAbort,
    onEnd: ({ end, usage, completionEstimate }) => {
      if (end === "upstream_error" || end === "idle_timeout") channel.breaker.onFailure(`${channel.row.name}: stream ${end}`);
      const estimated = usage === null;
      const completionTokens = usage?.completion ?? completionEstimate();
      // A stream the upstream broke or stalled before it produced a single token is a failed request that
      // produced nothing, and such a request costs nothing (issue 4): not even its estimated prompt.
      const failedEmpty = estimated && completionTokens === 0 && (end === "upstream_error" || end === "idle_timeout");
      finish(job, channel, upstreamModel, {
        status: end === "done" ? res.status : end === "client_abort" ? 499 : end === "idle_timeout" ? 504 : 502,
        errorCode: end === "done" ? null : end === "client_abort" ? "client_closed" : end === "idle_timeout" ? "upstream_timeout" : "upstream_error",
        ttfbMs,
        promptTokens: failedEmpty ? 0 : usage?.prompt ?? (b.format === "json" ? countPrompt(b.json) : 0),
        completionTokens,
        tokensEstimated: estimated,
      });
    },
  });
  return new Response(stream, {
    status: res.status,
    headers: { "x-request-id": job.requestId, "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" },
  });
}

function clientGone(job: Job, channel: LiveChannel, upstreamModel: string): Response {
  finish(job, channel, upstreamModel, { status: 499, errorCode: "client_closed" });
  return new Response(null, { status: 499 });
}

function responseHeaders(job: Job, contentType: string | null): Record<string, string> {
  return contentType ? { "x-request-id": job.requestId, "content-type": contentType } : { "x-request-id": job.requestId };
}

/** Settles the hold and logs the request. Safe to call more than once; only the first call counts. */
function finish(job: Job, channel: LiveChannel | null, upstreamModel: string | null,
  r: { status: number; errorCode: string | null; ttfbMs?: number; promptTokens?: number; completionTokens?: number; tokensEstimated?: boolean }): void {
  if (job.hold.released) return;
  const key = job.principal.entry?.key ?? null;
  const record: RequestRecord = {
    requestId: job.requestId, userId: job.principal.userId, keyId: key?.id ?? null,
    keyPrefix: key ? publicPrefix(job.ctx.config.RELAY_KEY_PREFIX, key.publicId) : "session",
    sourceIp: job.principal.ip, endpoint: job.path, model: job.body.model, upstreamModel: upstreamModel ?? "",
    channelId: channel?.row.id ?? null, status: r.status, errorCode: r.errorCode, stream: job.body.stream,
    promptTokens: r.promptTokens ?? 0, completionTokens: r.completionTokens ?? 0, tokensEstimated: r.tokensEstimated ?? false,
    ttfbMs: r.ttfbMs ?? null, totalMs: Math.round(performance.now() - job.started),
  };
  recordRequest(job.ctx, job.hold, record);
}
