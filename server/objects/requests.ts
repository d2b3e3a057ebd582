import type { AppContext } from "../context";
import type { Principal } from "../auth/authenticate";
import { ApiError } from "../errors";
import { readBody } from "../http/body";
import { channelForNew, holdingChannel, ownedObject } from "./channels";
import { forward, jsonOf } from "./forward";
import { planOfBatchFile } from "./batch-plan";
import { recordBatchFiles } from "./batch-usage";
import { createBatch } from "./batches";
import type { ObjectOperation } from "./kinds";
import { settleIfEnded } from "./settle";

/**
 * The object requests that name no model: follow-ups on an object (retrieve, delete, content, input
 * items, cancel), lists relay answers from its records, and creations without a model (file uploads,
 * batches). Each goes to one channel, the object's own, with no failover (no other channel has the
 * object). Creating and reading objects costs nothing upstream and is not charged; what uses them is
 * metered where it runs: a model call as any, a batch held and prepaid at create (batches.ts).
 */
export async function objectRequest(ctx: AppContext, request: Request, requestId: string, principal: Principal, op: ObjectOperation, url: URL): Promise<Response> {
  if (op.type === "list") return listed(ctx, principal, op.k.kind, url, requestId);
  if (op.type === "create") {
    // A batch is model work: held at its worst case, prepaid, settled from its output file (batches.ts).
    if (op.k.kind === "batch") return createBatch(ctx, request, requestId, principal, url);
    // An upload is checked here, so a malformed one is the client's 400, not an upstream's answer.
    const bytes = await readBody(request, ctx.config.RELAY_MAX_BODY_BYTES);
    const form = await requireUpload(bytes, request.headers.get("content-type"));
    // A batch input file is read as it passes: what its lines may use is known when a batch is made of it.
    const file = form.get("file") as Blob;
    const plan = form.get("purpose") === "batch" ? await planOfBatchFile(new Uint8Array(await file.arrayBuffer())) : null;
    const channel = channelForNew(ctx, principal, op.k.kind);
    const res = await forward(ctx, request, requestId, channel, url, bytes);
    const created = jsonOf(res.bytes);
    if (res.status < 300 && typeof created?.id === "string") {
      await ctx.stores.objects.record({
        kind: op.k.kind, upstreamId: created.id, channelId: channel.row.id, accountId: principal.accountId,
        keyId: principal.entry?.key.id ?? null, status: typeof created.status === "string" ? created.status : null, meta: created,
        plan: plan as Record<string, unknown> | null,
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
        // A batch's output and error files become the account's as soon as anyone sees them.
        if (o.kind === "batch") await recordBatchFiles(ctx, o, seen);
        if (o.settledAt === null || o.kind !== "response") {
          await ctx.stores.objects.update(o.id, { status: o.settledAt === null && typeof seen.status === "string" ? seen.status : o.status, meta: o.kind === "response" ? null : seen });
        }
        // A client's own look may be the first to see a background response or batch end: it settles it then.
        await settleIfEnded(ctx, o, seen);
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

/** A file upload as OpenAI takes it: multipart/form-data with a `file` part and a `purpose`. */
async function requireUpload(bytes: Uint8Array, contentType: string | null): Promise<FormData> {
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
  return form;
}
