import type { Admitted } from "../usage/journal-lines";
import type { Server } from "bun";
import { ApiError, errorCodes, errorResponse } from "../errors";
import type { Usage } from "../translate/usage";
import type { AppContext } from "../context";
import { authenticateRelayRequest, callerOfPrincipal } from "../http/caller";
import { readBody } from "../http/body";
import { requestIdOf } from "../http/errors-plugin";
import { requireModelAllowed, requireScope, type Principal } from "../auth/authenticate";
import type { LiveChannel } from "../channels/registry";
import type { Hold } from "../limits/admission";
import { markAccounted, refusedBy } from "../usage/refusals";
import { endpointKind, producesOutput, shapeOfKind } from "./endpoint";
import { parseRelayBody, type RelayBody } from "./parse";
import { orderCandidates } from "./select";
import { countPrompt, promptBound } from "./tokens";
import { isRetryableStatus, readWithIdleTimeout, sendUpstream, upstreamHeaders } from "./upstream";
import { adapterOf } from "../providers";
import { conversionFor, unservable, type Conversion } from "./conversions";
import type { ClientBody } from "./conversions/types";
import { finish, responseHeaders, startJob, type Job } from "./job";
import { keyPrefixOf } from "../keys/key-format";
import { streamResponse } from "./stream-response";
import { objectOperation } from "../objects/kinds";
import { objectRequest } from "../objects/requests";
import { pinnedChannel, recordModelObject, recordResponseId } from "../objects/record";
import { recordingIdOf } from "../objects/stream-id";
import { TERMINAL } from "../objects/settle";

const utf8 = new TextDecoder();

/** Relays one /v1 request: authenticate, check, hold, try channels in order, then account for it exactly once. */
export async function relay(ctx: AppContext, request: Request, server: Server<unknown> | null, base = "/v1"): Promise<Response> {
  const started = performance.now();
  const requestId = requestIdOf(request);
  const url = new URL(request.url);
  // Under a RELAY_API_PREFIXES prefix, the request is the /v1 one it stands for (routing, metering, upstream).
  const path = base === "/v1" ? url.pathname : `/v1${url.pathname.slice(base.length)}`;
  const kind = endpointKind(path);
  let principal: Principal;
  try {
    const authenticated = authenticateRelayRequest(ctx, request, server);
    principal = authenticated instanceof Promise ? await authenticated : authenticated; // keys: no await
    requireScope(principal, "inference");
  } catch (err) {
    // A refusal of a key that proved itself (disabled, expired, outside its IPs, lacking the scope) is logged
    // with the model it asked for, so the body is read for that; an unknown key's is not.
    if (err instanceof ApiError && err.errorCode !== "invalid_api_key" && err.errorCode !== "invalid_session") {
      if (!err.caller && principal!) refusedBy(err, callerOfPrincipal(ctx, principal), null);
      if (err.caller) refusedBy(err, err.caller, await modelOfBody(ctx, request, kind, url));
    }
    throw err;
  }
  // Follow-ups on an upstream object, lists of them and creations without a model go to the object's own
  // channel behind the owner check (server/objects/), not through model routing.
  const op = objectOperation(request.method, path);
  if (op) return objectRequest(ctx, request, requestId, principal, op, url);
  let job: Job;
  let model: string | null = null;
  try {
    const bytes = await readBody(request, ctx.config.RELAY_MAX_BODY_BYTES);
    let body: RelayBody;
    try {
      const parsed = parseRelayBody(bytes, request.headers.get("content-type"), kind, url, request.method);
      body = parsed instanceof Promise ? await parsed : parsed;
    } catch (err) {
      model = modelOfJson(bytes); // a bad field next to a good model: log the model with the refusal
      throw err;
    }
    model = body.model;
    // A follow-up response goes to the channel that holds the one it continues, never another.
    const previous = path === "/v1/responses" && body.format === "json" ? body.json.previous_response_id : undefined;
    const pinned = typeof previous === "string" ? await pinnedChannel(ctx, principal, previous) : null;
    const j = admitted(ctx, request, requestId, started, principal, path, url.search, kind, body, bytes.byteLength, pinned);
    job = j instanceof Promise ? await j : j;
  } catch (err) {
    // Refusals (400, 403, 404, 402, 429) are logged by the public app's error handler under this caller.
    if (err instanceof ApiError) refusedBy(err, callerOfPrincipal(ctx, principal), model);
    throw err;
  }
  try {
    return await attempt(job, orderCandidates(job.candidates));
  } catch (err) {
    finish(job, null, null, { status: err instanceof ApiError ? err.status : 500, errorCode: err instanceof ApiError ? err.errorCode : "internal_error" });
    if (err instanceof ApiError) markAccounted(err);
    throw err;
  }
}

/** The checks that need the body, then admission: a running job, or the refusal thrown. */
function admitted(ctx: AppContext, request: Request, requestId: string, started: number, principal: Principal, path: string, search: string,
  kind: ReturnType<typeof endpointKind>, body: RelayBody, bodyBytes: number, pinned: LiveChannel | null = null): Job | Promise<Job> {
  requireModelAllowed(principal, body.model);
  const group = principal.entry?.key.group ?? "either";
  const serving = pinned ? [pinned] : ctx.channels.serving(body.model, group);
  if (serving.length === 0) throw new ApiError("model_not_found", `The model '${body.model}' does not exist or you do not have access to it.`, "model");
  // Every channel serving the model is a candidate, whatever its type, as long as the request can reach it
  // (as it is, or translated); failover may cross types.
  const shape = shapeOfKind(kind);
  const candidates = reachable(serving, kind, shape, body);
  if (candidates.length === 0) throw new ApiError("invalid_request", `The model '${body.model}' cannot serve this request: ${unservable(kind, shape, adapterOf(serving[0]!).shape, body)}.`, "model");
  const key = principal.entry?.key ?? null;
  const m = principal.membership;
  const a = principal.account;
  const k = principal.entry?.key;
  // Only built when some limit is set: most deployments have none, and this runs for every request.
  const rates = a.rpm !== null || a.tpm !== null || k?.rpm != null || k?.tpm != null || m?.rpm != null || m?.tpm != null
    ? [
      { scope: "account" as const, id: a.id, rpm: a.rpm, tpm: a.tpm },
      ...(k ? [{ scope: "key" as const, id: k.id, rpm: k.rpm, tpm: k.tpm }] : []),
      ...(m ? [{ scope: "member" as const, id: `${m.accountId}:${m.userId}`, rpm: m.rpm, tpm: m.tpm }] : []),
    ]
    : undefined;
  const admitted: Admitted = {
    requestId, accountId: principal.accountId, orgId: a.kind === "org" ? a.id : null, userId: principal.userId, keyId: key?.id ?? null,
    keyLabel: key?.label ?? "", keyPrefix: key ? keyPrefixOf(ctx, key) : "session", sourceIp: principal.ip, endpoint: path, model: body.model, stream: body.stream,
  };
  const held = ctx.admission.admit({
    rates, admitted,
    requestId, accountId: principal.accountId, concurrency: principal.account.concurrency, monthlyTokens: principal.account.monthlyTokens,
    member: m ? { userId: m.userId, monthlySpend: m.monthlySpend, concurrency: m.concurrency } : null,
    keyId: key?.id ?? null, spendLimit: key?.spendLimit ?? null, model: body.model,
    // Every prompt token is at least one byte of the body, so its size bounds the prompt at no cost;
    // the tokenizer is asked only when that bound would make a difference to the hold.
    promptTokens: body.format === "json" ? bodyBytes + 32 : 0,
    refinePromptTokens: body.format === "json" ? () => promptBound(body.json, bodyBytes) : undefined,
    clientMaxOutput: body.clientMaxOutput, choices: body.choices,
    producesOutput: producesOutput(kind),
  });
  const start = (hold: Hold): Job => {
    // Journaled before anything is forwarded: if the process dies from here on, the next start records it.
    hold.journal = ctx.journal.admitted(admitted);
    return startJob({
      ctx, request, requestId, started, principal, path, search, kind, shape, body, hold, candidates,
      abort: null, cutWith: null, endStream: null,
    });
  };
  // Embedded admission answers at once (no await on the hot path); another may answer with a promise.
  return held instanceof Promise ? held.then(start) : start(held);
}

/** The channels a request can reach; the list itself when they all can (the usual case: no copy). */
function reachable(serving: LiveChannel[], kind: ReturnType<typeof endpointKind>, shape: ReturnType<typeof shapeOfKind>, body: RelayBody): LiveChannel[] {
  for (let i = 0; i < serving.length; i++) {
    if (unservable(kind, shape, adapterOf(serving[i]!).shape, body) !== null) {
      return serving.filter((c) => unservable(kind, shape, adapterOf(c).shape, body) === null);
    }
  }
  return serving;
}

/** Reads just enough of a refused request to log its model; any problem with the body leaves it unknown. */
async function modelOfBody(ctx: AppContext, request: Request, kind: ReturnType<typeof endpointKind>, url: URL): Promise<string | null> {
  try {
    const bytes = await readBody(request, ctx.config.RELAY_MAX_BODY_BYTES);
    return (await parseRelayBody(bytes, request.headers.get("content-type"), kind, url, request.method)).model;
  } catch {
    return null; // the refusal stands; the model stays unknown
  }
}

function modelOfJson(bytes: Uint8Array): string | null {
  try {
    const model = (JSON.parse(utf8.decode(bytes)) as { model?: unknown } | null)?.model;
    return typeof model === "string" && model.length <= 256 ? model : null;
  } catch {
    return null; // not JSON: nothing to note
  }
}

/** The last failed attempt: what the client gets if no channel answers. */
type Failure = { status?: number; body?: Uint8Array; contentType?: string | null; message: string; timeout: boolean; channel: LiveChannel; conversion?: Conversion };

function conversionOf(job: Job, channel: LiveChannel, upstreamModel: string): Conversion {
  return conversionFor(job.shape, adapterOf(channel).shape, {
    path: job.path, search: job.search, kind: job.kind, body: job.body, clientModel: job.body.model, upstreamModel,
    injectMaxOutput: job.hold.injectMaxOutput, requestId: job.requestId, pingEveryMs: job.ctx.config.RELAY_STREAM_PING_MS,
  });
}

async function attempt(job: Job, order: LiveChannel[]): Promise<Response> {
  const { ctx, request } = job;
  let tries = 0;
  let last: Failure | null = null;
  for (const channel of order) {
    if (job.cutWith) return cutShort(job, null, null);
    if (tries >= ctx.config.RELAY_MAX_ATTEMPTS) break;
    if (!channel.breaker.tryAcquire()) continue;
    tries++;
    const upstreamModel = channel.row.modelMap[job.body.model] ?? job.body.model;
    const adapter = adapterOf(channel);
    if (job.kind === "count_tokens" && adapter.shape === "openai") {
      channel.breaker.onNeutral();
      return countedLocally(job, channel, upstreamModel);
    }
    const conversion = conversionOf(job, channel, upstreamModel);
    let retriedCapField = false;
    for (;;) {
      const { body, contentType } = conversion.body();
      job.abort = new AbortController();
      const a = await sendUpstream(channel, adapter.url(channel, { path: conversion.path, search: conversion.search, upstreamModel }),
        { method: request.method, headers: upstreamHeaders(request.headers, channel, adapter, contentType), body },
        channel.row.firstByteTimeoutMs ?? ctx.config.RELAY_FIRST_BYTE_TIMEOUT_MS, request.signal, job.abort);
      if (a.kind === "failed") {
        if (job.cutWith || request.signal.aborted) {
          channel.breaker.onNeutral();
          return job.cutWith ? cutShort(job, channel, upstreamModel) : clientGone(job, channel, upstreamModel);
        }
        channel.breaker.onFailure(a.message);
        last = { ...a, channel };
        break;
      }
      const { res, ttfbMs, abort, alsoOnClientAbort } = a;
      const idleMs = channel.row.idleTimeoutMs ?? ctx.config.RELAY_STREAM_IDLE_TIMEOUT_MS;
      const isSse = (res.headers.get("content-type") ?? "").includes("text/event-stream");
      if (res.ok && isSse && res.body) {
        channel.breaker.onSuccess();
        // A streamed stored response is recorded from its first event, before the client can read its id.
        const stored = job.path === "/v1/responses" && request.method === "POST" && job.body.format === "json" && job.body.json.store !== false;
        const upstream = stored
          ? new Response(recordingIdOf(res.body, (id) => recordResponseId(ctx, job.principal, channel, id)), { status: res.status, headers: res.headers })
          : res;
        return streamResponse(job, channel, upstreamModel, conversion.stream(), upstream, abort, alsoOnClientAbort, ttfbMs, idleMs);
      }
      const bytes = await readWithIdleTimeout(res, abort, idleMs);
      if (job.cutWith) {
        channel.breaker.onNeutral();
        return cutShort(job, channel, upstreamModel);
      }
      if (bytes === null) {
        if (request.signal.aborted) {
          channel.breaker.onNeutral();
          return clientGone(job, channel, upstreamModel);
        }
        channel.breaker.onFailure(`${channel.row.name}: body failed or stalled`);
        last = { message: `${channel.row.name}: the upstream body failed or stalled`, timeout: true, channel };
        break;
      }
      // An upstream that refuses the output-cap field relay chose gets the other one, once, on the same channel.
      if (res.status === 400 && !retriedCapField && conversion.switchMaxTokensField?.(utf8.decode(bytes))) {
        retriedCapField = true;
        continue;
      }
      if (isRetryableStatus(res.status)) {
        channel.breaker.onFailure(`${channel.row.name}: HTTP ${res.status}`);
        last = { status: res.status, body: bytes, contentType: res.headers.get("content-type"), message: `${channel.row.name}: HTTP ${res.status}`, timeout: false, channel, conversion };
        break;
      }
      channel.breaker.onSuccess();
      const creates = res.ok && job.path === "/v1/responses" && request.method === "POST" && job.body.format === "json";
      // A background response answers queued, with no usage yet: it pays its whole hold now and is refunded
      // what it did not use when it ends (server/objects/settle.ts), so it holds no slot while it runs. It is
      // recorded before its prepayment is settled: a kill between the two leaves it recorded with its request
      // interrupted (charged nothing), and a refund never exceeds that request's committed charge.
      const prepay = creates && isBackground(job) && !answerEnded(bytes);
      if (prepay && job.body.format === "json") await recordModelObject(ctx, job.principal, channel, job.body.json, bytes, job.hold.credits, job.requestId);
      const response = answered(job, channel, upstreamModel, conversion, res, bytes, ttfbMs, prepay);
      if (creates && !prepay && job.body.format === "json") await recordModelObject(ctx, job.principal, channel, job.body.json, bytes);
      return response;
    }
  }
  return exhausted(job, last, tries);
}

/** A whole answer from the upstream (success or a non-retryable error), as the client gets it. */
function answered(job: Job, channel: LiveChannel, upstreamModel: string, conversion: Conversion, res: Response, bytes: Uint8Array, ttfbMs: number, prepay = false): Response {
  const contentType = res.headers.get("content-type");
  let out: ClientBody;
  let usage: Usage | null = null;
  if (!res.ok) out = conversion.upstreamError(res.status, bytes, contentType);
  else {
    try {
      ({ usage, ...out } = conversion.answer(bytes, contentType));
    } catch {
      // A translation that cannot read the upstream's answer: the client gets relay's 502, not garbage.
      finish(job, channel, upstreamModel, { status: 502, errorCode: "upstream_error", errorDetail: `${channel.row.name}: unreadable answer`, ttfbMs });
      return errorFor(job, new ApiError("upstream_error", `The upstream's answer could not be read. Ask the relay's operator about request ${job.requestId}.`));
    }
  }
  finish(job, channel, upstreamModel, { status: res.status, errorCode: res.ok ? null : "upstream_error", ttfbMs, usage, prepay });
  return new Response(out.bytes as Uint8Array<ArrayBuffer>, { status: res.status, headers: responseHeaders(job, out.contentType) });
}

const isBackground = (job: Job) => job.path === "/v1/responses" && job.request.method === "POST" && job.body.format === "json" && job.body.json.background === true;

/** Whether a Responses answer is already in a terminal status (a background response that finished at once settles as usual). */
function answerEnded(bytes: Uint8Array): boolean {
  try {
    const status = (JSON.parse(utf8.decode(bytes)) as { status?: unknown }).status;
    return typeof status === "string" && TERMINAL.has(status);
  } catch {
    return true;
  }
}

/** count_tokens for a model only OpenAI-compatible channels serve: counted here, with the tokenizer. */
function countedLocally(job: Job, channel: LiveChannel, upstreamModel: string): Response {
  const input = job.body.format === "json" ? countPrompt(job.body.json) : 0;
  finish(job, channel, upstreamModel, { status: 200, errorCode: null, tokensEstimated: true });
  return new Response(JSON.stringify({ input_tokens: input }), { status: 200, headers: responseHeaders(job, "application/json") });
}

/**
 * Every attempt failed. The client gets the last upstream's own 429/5xx as it was (so its SDK backs off as
 * usual), or relay's 502/504. That message never names a channel, its URL or the runtime's error text:
 * those go to the usage row's error detail, for operators.
 */
function exhausted(job: Job, last: Failure | null, tries: number): Response {
  if (!last) {
    throw new ApiError("no_channel_available", `Every channel serving '${job.body.model}' is cooling down after failures; try again shortly.`, null, { "retry-after": "5" });
  }
  const status = last.status ?? (last.timeout ? 504 : 502);
  finish(job, last.channel, null, {
    status, errorCode: last.status === 429 ? "upstream_rate_limited" : last.timeout ? "upstream_timeout" : "upstream_error",
    errorDetail: `${tries} attempt(s); last: ${last.message}`,
  });
  if (last.status !== undefined && last.body) {
    const out = last.conversion ? last.conversion.upstreamError(last.status, last.body, last.contentType ?? null) : { bytes: last.body, contentType: last.contentType };
    return new Response(out.bytes as Uint8Array<ArrayBuffer>, { status: last.status, headers: responseHeaders(job, out.contentType ?? "application/json") });
  }
  const code = last.timeout ? "upstream_timeout" : "upstream_error";
  const what = last.timeout ? "did not answer in time" : "could not be reached";
  const message = `The upstream ${what} (${tries} attempt${tries === 1 ? "" : "s"}). Try again shortly; if it persists, ask the relay's operator about request ${job.requestId}.`;
  return errorFor(job, new ApiError(code, message));
}

/** relay's own error, in the client's shape. */
function errorFor(job: Job, err: ApiError): Response {
  return errorResponse(err, job.requestId, job.shape);
}

/** A request cut by a revocation before anything reached the client: its error, and nothing charged. */
function cutShort(job: Job, channel: LiveChannel | null, upstreamModel: string | null): Response {
  const { code, message } = job.cutWith!;
  finish(job, channel, upstreamModel, { status: errorCodes[code][0], errorCode: code });
  return errorFor(job, new ApiError(code, message));
}

function clientGone(job: Job, channel: LiveChannel, upstreamModel: string): Response {
  finish(job, channel, upstreamModel, { status: 499, errorCode: "client_closed" });
  return new Response(null, { status: 499 });
}
