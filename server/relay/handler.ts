import type { Server } from "bun";
import { ApiError, errorCodes, errorResponse } from "../errors";
import type { AppContext } from "../context";
import { authenticateRequest } from "../http/caller";
import { readBody } from "../http/body";
import { requestIdOf } from "../http/errors-plugin";
import { requireModelAllowed, requireScope, type Principal } from "../auth/authenticate";
import { registryOf, type LiveChannel } from "../channels/registry";
import { admit } from "../limits/admission";
import { noteModel } from "../usage/refusals";
import { endpointKind } from "./endpoint";
import { parseRelayBody, type RelayBody } from "./parse";
import { orderCandidates } from "./select";
import { promptBound } from "./tokens";
import { isRetryableStatus, readWithIdleTimeout, sendUpstream, upstreamHeaders } from "./upstream";
import { adapterOf } from "../providers";
import { openAIUsageOf } from "../shapes/openai/stream-framing";
import { finish, responseHeaders, startJob, type Job } from "./job";
import { modelRewriter } from "./model-name";
import { streamResponse } from "./stream-response";

const utf8 = new TextDecoder();

/** Relays one /v1 request: authenticate, check, hold, try channels in order, then account for it exactly once. */
export async function relay(ctx: AppContext, request: Request, server: Server<unknown> | null): Promise<Response> {
  const started = performance.now();
  const requestId = requestIdOf(request);
  const url = new URL(request.url);
  const kind = endpointKind(url.pathname);
  let principal: Principal;
  try {
    const authenticated = authenticateRequest(ctx, request, server);
    principal = authenticated instanceof Promise ? await authenticated : authenticated; // keys: no await
    requireScope(principal, "inference");
  } catch (err) {
    // A refusal of a key that proved itself (disabled, expired, outside its IPs, lacking the scope) is logged
    // with the model it asked for, so the body is read for that; an unknown key's is not.
    if (err instanceof ApiError && err.errorCode !== "invalid_api_key" && err.errorCode !== "invalid_session") await noteModelOfBody(ctx, request, kind, url);
    throw err;
  }
  const bytes = await readBody(request, ctx.config.RELAY_MAX_BODY_BYTES);
  let body: RelayBody;
  try {
    const parsed = parseRelayBody(bytes, request.headers.get("content-type"), kind, url, request.method);
    body = parsed instanceof Promise ? await parsed : parsed;
  } catch (err) {
    noteModelOfJson(request, bytes); // a bad field next to a good model: log the model with the refusal
    throw err;
  }
  noteModel(request, body.model);
  requireModelAllowed(principal, body.model);
  const group = principal.entry?.key.group ?? "either";
  const candidates = registryOf(ctx).serving(body.model, group);
  if (candidates.length === 0) throw new ApiError("model_not_found", `The model '${body.model}' does not exist or you do not have access to it.`, "model");

  const key = principal.entry?.key ?? null;
  // Refusals (429, 402) are thrown from here and logged by the public app's error handler.
  const hold = admit(ctx, {
    requestId, userId: principal.userId, concurrency: principal.user.concurrency, monthlyTokens: principal.user.monthlyTokens,
    keyId: key?.id ?? null, spendLimit: key?.spendLimit ?? null, model: body.model,
    // Every prompt token is at least one byte of the body, so its size bounds the prompt at no cost;
    // the tokenizer is asked only when that bound would make a difference to the hold.
    promptTokens: body.format === "json" ? bytes.byteLength + 32 : 0,
    refinePromptTokens: body.format === "json" ? () => promptBound(body.json, bytes.byteLength) : undefined,
    clientMaxOutput: body.clientMaxOutput, choices: body.choices,
    producesOutput: kind === "chat" || kind === "completion" || kind === "other",
  });
  const job = startJob({
    ctx, request, requestId, started, principal, path: url.pathname, search: url.search, body, hold,
    abort: null, cutWith: null, endStream: null,
  });
  try {
    return await attempt(job, orderCandidates(candidates));
  } catch (err) {
    finish(job, null, null, { status: err instanceof ApiError ? err.status : 500, errorCode: err instanceof ApiError ? err.errorCode : "internal_error" });
    throw err;
  }
}

/** Reads just enough of a refused request to log its model; any problem with the body leaves it unknown. */
async function noteModelOfBody(ctx: AppContext, request: Request, kind: ReturnType<typeof endpointKind>, url: URL): Promise<void> {
  try {
    const bytes = await readBody(request, ctx.config.RELAY_MAX_BODY_BYTES);
    const parsed = await parseRelayBody(bytes, request.headers.get("content-type"), kind, url, request.method);
    noteModel(request, parsed.model);
  } catch {
    /* the refusal stands; the model stays unknown */
  }
}

function noteModelOfJson(request: Request, bytes: Uint8Array): void {
  try {
    const model = (JSON.parse(utf8.decode(bytes)) as { model?: unknown } | null)?.model;
    if (typeof model === "string" && model.length <= 256) noteModel(request, model);
  } catch {
    /* not JSON: nothing to note */
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

/** The last failed attempt: what the client gets if no channel answers. */
type Failure = { status?: number; body?: Uint8Array; contentType?: string | null; message: string; timeout: boolean; channel: LiveChannel };

async function attempt(job: Job, order: LiveChannel[]): Promise<Response> {
  const { ctx, request } = job;
  let tries = 0;
  let last: Failure | null = null;
  for (const channel of order) {
    if (job.cutWith) return cutShort(job, null, null);
    if (tries >= ctx.config.RELAY_MAX_ATTEMPTS) break;
    if (!channel.breaker.tryAcquire()) continue;
    tries++;
    const { body, contentType, upstreamModel } = buildBody(job, channel);
    const adapter = adapterOf(channel);
    job.abort = new AbortController();
    const a = await sendUpstream(channel, adapter.url(channel, { path: job.path, search: job.search, upstreamModel }),
      { method: request.method, headers: upstreamHeaders(request.headers, channel, adapter, contentType), body },
      channel.row.firstByteTimeoutMs ?? ctx.config.RELAY_FIRST_BYTE_TIMEOUT_MS, request.signal, job.abort);
    if (a.kind === "failed") {
      if (job.cutWith || request.signal.aborted) {
        channel.breaker.onNeutral();
        return job.cutWith ? cutShort(job, channel, upstreamModel) : clientGone(job, channel, upstreamModel);
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
    let bytes = await readWithIdleTimeout(res, abort, idleMs);
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
      continue;
    }
    if (isRetryableStatus(res.status)) {
      channel.breaker.onFailure(`${channel.row.name}: HTTP ${res.status}`);
      last = { status: res.status, body: bytes, contentType: res.headers.get("content-type"), message: `${channel.row.name}: HTTP ${res.status}`, timeout: false, channel };
      continue;
    }
    channel.breaker.onSuccess();
    let usage: { prompt: number; completion: number } | null = null;
    const isJson = (res.headers.get("content-type") ?? "").includes("json");
    if (res.ok && isJson) {
      try {
        usage = openAIUsageOf(JSON.parse(utf8.decode(bytes)));
      } catch {
        /* a JSON content type with a broken body: pass it on, meter nothing */
      }
    }
    const rewrite = isJson ? modelRewriter(job.body.model, upstreamModel) : null;
    if (rewrite) bytes = rewrite.bytes(bytes);
    finish(job, channel, upstreamModel, {
      status: res.status, errorCode: res.ok ? null : "upstream_error", ttfbMs,
      promptTokens: usage?.prompt ?? 0, completionTokens: usage?.completion ?? 0,
    });
    return new Response(bytes as Uint8Array<ArrayBuffer>, { status: res.status, headers: responseHeaders(job, res.headers.get("content-type")) });
  }
  return exhausted(job, last, tries);
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
    return new Response(last.body as Uint8Array<ArrayBuffer>, { status: last.status, headers: responseHeaders(job, last.contentType ?? "application/json") });
  }
  const code = last.timeout ? "upstream_timeout" : "upstream_error";
  const what = last.timeout ? "did not answer in time" : "could not be reached";
  const message = `The upstream ${what} (${tries} attempt${tries === 1 ? "" : "s"}). Try again shortly; if it persists, ask the relay's operator about request ${job.requestId}.`;
  return errorResponse(new ApiError(code, message), job.requestId);
}

/** A request cut by a revocation before anything reached the client: its error, and nothing charged. */
function cutShort(job: Job, channel: LiveChannel | null, upstreamModel: string | null): Response {
  const { code, message } = job.cutWith!;
  finish(job, channel, upstreamModel, { status: errorCodes[code][0], errorCode: code });
  return errorResponse(new ApiError(code, message), job.requestId);
}

function clientGone(job: Job, channel: LiveChannel, upstreamModel: string): Response {
  finish(job, channel, upstreamModel, { status: 499, errorCode: "client_closed" });
  return new Response(null, { status: 499 });
}
