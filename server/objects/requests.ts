import type { AppContext } from "../context";
import type { Principal } from "../auth/authenticate";
import type { LiveChannel } from "../channels/registry";
import { ApiError } from "../errors";
import { readBody } from "../http/body";
import { adapterOf } from "../providers";
import { readWithIdleTimeout, sendUpstream, upstreamHeaders } from "../relay/upstream";
import { channelForNew, holdingChannel, ownedObject } from "./channels";
import type { ObjectOperation } from "./kinds";
import { settleIfEnded } from "./settle";

const utf8 = new TextDecoder();

/**
 * The object requests that name no model: follow-ups on an object (retrieve, delete, content, input
 * items, cancel), lists relay answers from its records, and creations without a model (file uploads).
 * Each goes to one channel, the object's own, with no failover (no other channel has the object) and
 * nothing held or charged: creating and reading objects costs nothing upstream; what uses them (a model
 * call, a batch) is metered where it runs.
 */
export async function objectRequest(ctx: AppContext, request: Request, requestId: string, principal: Principal, op: ObjectOperation, url: URL): Promise<Response> {
  if (op.type === "list") return listed(ctx, principal, op.k.kind, url, requestId);
  if (op.type === "create") {
    if (op.k.kind === "batch") {
      // A batch runs up to its whole input at once; it is taken when relay can hold its worst case at the
      // batch price and settle it when it ends, not before (a batch forwarded now would be free).
      throw new ApiError("invalid_request", "Batches are not available through this relay yet (their billing is not in place); send the requests one by one.");
    }
    // An upload is checked here, so a malformed one is the client's 400, not an upstream's answer.
    const bytes = await readBody(request, ctx.config.RELAY_MAX_BODY_BYTES);
    await requireUpload(bytes, request.headers.get("content-type"));
    const channel = channelForNew(ctx, principal, op.k.kind);
    const res = await forward(ctx, request, requestId, channel, url, bytes);
    const created = jsonOf(res.bytes);
    if (res.status < 300 && typeof created?.id === "string") {
      await ctx.stores.objects.record({
        kind: op.k.kind, upstreamId: created.id, channelId: channel.row.id, accountId: principal.accountId,
        keyId: principal.entry?.key.id ?? null, status: typeof created.status === "string" ? created.status : null, meta: created,
      });
    }
    return res.response;
  }
  const o = await ownedObject(ctx, principal, op.k.kind, op.id);
  const channel = holdingChannel(ctx, o.channelId, op.k.kind);
  const res = await forward(ctx, request, requestId, channel, url);
  if (res.status < 300) {
    if (request.method === "DELETE" && op.rest === "") await ctx.stores.objects.remove(o.id);
    else if (op.rest === "" || op.rest === "cancel") {
      const seen = jsonOf(res.bytes);
      if (seen && seen.id === o.upstreamId) {
        // A client's own look may be the first to see a background response end: it settles it then.
        const { settled } = await settleIfEnded(ctx, o, seen);
        if (!settled) await ctx.stores.objects.update(o.id, { status: typeof seen.status === "string" ? seen.status : o.status, meta: o.kind === "response" ? null : seen });
      }
    }
  }
  return res.response;
}

/** The caller's own objects of a kind, newest first, in OpenAI's list shape (`limit`, `after`). */
async function listed(ctx: AppContext, principal: Principal, kind: string, url: URL, requestId: string): Promise<Response> {
  const limitParam = url.searchParams.get("limit");
  const limit = limitParam === null ? 20 : Number(limitParam);
  if (!Number.isInteger(limit) || limit < 1 || limit > 10_000) throw new ApiError("invalid_request", "'limit' must be an integer from 1 to 10000.", "limit");
  const after = url.searchParams.get("after");
  let before: number | undefined;
  if (after) before = (await ownedObject(ctx, principal, kind, after)).id;
  const rows = await ctx.stores.objects.list(kind, principal.accountId, { limit: limit + 1, before });
  const page = rows.slice(0, limit);
  const data = page.map((r) => r.meta ?? { id: r.upstreamId, object: kind });
  const body = { object: "list", data, first_id: page[0]?.upstreamId ?? null, last_id: page.at(-1)?.upstreamId ?? null, has_more: rows.length > limit };
  return new Response(JSON.stringify(body), { headers: { "content-type": "application/json", "x-request-id": requestId } });
}

/** One attempt on one channel; the upstream's answer as it came (status, type, bytes), or 502/504. */
async function forward(ctx: AppContext, request: Request, requestId: string, channel: LiveChannel, url: URL, read?: Uint8Array): Promise<{ status: number; bytes: Uint8Array; response: Response }> {
  const body = request.method === "GET" || request.method === "HEAD" ? null : read ?? await readBody(request, ctx.config.RELAY_MAX_BODY_BYTES);
  const adapter = adapterOf(channel);
  const contentType = request.headers.get("content-type");
  const a = await sendUpstream(channel, adapter.url(channel, { path: url.pathname.replace(/^.*?\/v1\//, "/v1/"), search: url.search, upstreamModel: "" }),
    { method: request.method, headers: upstreamHeaders(request.headers, channel, adapter, body && body.byteLength > 0 ? contentType : null), body: body && body.byteLength > 0 ? (body as Uint8Array<ArrayBuffer>) : null },
    channel.row.firstByteTimeoutMs ?? ctx.config.RELAY_FIRST_BYTE_TIMEOUT_MS, request.signal);
  if (a.kind === "failed") {
    channel.breaker.onFailure(a.message);
    throw a.timeout
      ? new ApiError("upstream_timeout", `The channel holding this object did not answer in time; try again.`)
      : new ApiError("upstream_error", `The channel holding this object could not be reached; try again. Ask the relay's operator about request ${requestId}.`);
  }
  const bytes = await readWithIdleTimeout(a.res, a.abort, channel.row.idleTimeoutMs ?? ctx.config.RELAY_STREAM_IDLE_TIMEOUT_MS);
  if (bytes === null) throw new ApiError("upstream_timeout", "The channel holding this object stopped answering; try again.");
  if (a.res.status >= 500) channel.breaker.onFailure(`${channel.row.name}: HTTP ${a.res.status}`);
  else channel.breaker.onSuccess();
  const headers: Record<string, string> = { "x-request-id": requestId };
  const type = a.res.headers.get("content-type");
  if (type) headers["content-type"] = type;
  const disposition = a.res.headers.get("content-disposition");
  if (disposition) headers["content-disposition"] = disposition;
  return { status: a.res.status, bytes, response: new Response(bytes as Uint8Array<ArrayBuffer>, { status: a.res.status, headers }) };
}

/** A file upload as OpenAI takes it: multipart/form-data with a `file` part and a `purpose`. */
async function requireUpload(bytes: Uint8Array, contentType: string | null): Promise<void> {
  if (!contentType || !/^multipart\/form-data/i.test(contentType)) {
    throw new ApiError("invalid_request", "A file upload must be multipart/form-data with a 'file' part and a 'purpose' field.");
  }
  let form: FormData;
  try {
    form = await new Response(bytes as Uint8Array<ArrayBuffer>, { headers: { "content-type": contentType } }).formData();
  } catch {
    throw new ApiError("invalid_request", "The multipart body could not be parsed; send a 'file' part and a 'purpose' field.");
  }
  if (!(form.get("file") instanceof Blob)) throw new ApiError("invalid_request", "The upload has no 'file' part.", "file");
  if (typeof form.get("purpose") !== "string") throw new ApiError("invalid_request", "The upload has no 'purpose' field (e.g. batch, assistants, user_data).", "purpose");
}

function jsonOf(bytes: Uint8Array): Record<string, unknown> | null {
  try {
    const v = JSON.parse(utf8.decode(bytes));
    return v && typeof v === "object" && !Array.isArray(v) ? v : null;
  } catch {
    return null;
  }
}
