import { z } from "zod";
import type { AppContext } from "../context";
import type { Principal } from "../auth/authenticate";
import { requireModelAllowed } from "../auth/authenticate";
import { ApiError } from "../errors";
import { readBody, parseJsonObject } from "../http/body";
import { batchPriceOf, holdCostOf, isPriced, type Price } from "../billing/prices";
import { keyPrefixOf } from "../keys/key-format";
import { finish, startJob, type Job } from "../relay/job";
import type { Admitted } from "../usage/journal-lines";
import type { LiveChannel } from "../channels/registry";
import { holdingChannel, ownedObject } from "./channels";
import { forward, jsonOf } from "./forward";
import { BATCH_ENDPOINTS, storedPlan, type BatchPlan } from "./batch-plan";
import type { BatchPrices } from "./batch-usage";

const createBody = z.object({
  input_file_id: z.string().min(1).max(256),
  endpoint: z.enum(BATCH_ENDPOINTS),
  completion_window: z.string().min(1).max(32),
  metadata: z.record(z.string(), z.string()).nullish(),
}).passthrough();

/** A batch's worst case: every line's prompt bound plus its output cap, per model at its batch price. */
type WorstCase = { credits: number; tokens: number; prices: Record<string, Price>; model: string };

/**
 * POST /v1/batches. The batch runs on the channel that holds its input file (no other has the file). Relay
 * read that file when it was uploaded (batch-plan.ts), so before any upstream call it holds the batch's
 * worst case at the batch price, or refuses (402 quota_exceeded and the other spend limits). Once the
 * upstream accepts the batch, it pays the whole hold (the hold's slot is freed: a batch runs for hours)
 * and the poller refunds what its output file shows it did not use when it ends (settle.ts).
 */
export async function createBatch(ctx: AppContext, request: Request, requestId: string, principal: Principal, url: URL): Promise<Response> {
  const started = performance.now();
  const bytes = await readBody(request, ctx.config.RELAY_MAX_BODY_BYTES);
  const json = parseJsonObject(bytes, request.headers.get("content-type"));
  const parsed = createBody.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = String(issue.path[0] ?? "");
    throw new ApiError("invalid_request", `'${field}' is missing or invalid: a batch needs input_file_id, endpoint (one of ${BATCH_ENDPOINTS.join(", ")}) and completion_window ("24h").`, field || null);
  }
  const b = parsed.data;
  const file = await ownedObject(ctx, principal, "file", b.input_file_id);
  const plan = storedPlan(file.plan);
  if (!plan) {
    throw new ApiError("invalid_request", `File '${b.input_file_id}' was not uploaded with purpose 'batch' through this relay, so relay cannot hold what its lines may cost; upload it again with purpose 'batch'.`, "input_file_id");
  }
  if (plan.problems.length > 0) throw new ApiError("invalid_request", `File '${b.input_file_id}' is not a valid batch input: ${plan.problems.join("; ")}.`, "input_file_id");
  const other = plan.urls.find((u) => u !== b.endpoint);
  if (other) throw new ApiError("invalid_request", `The batch's endpoint is ${b.endpoint}, but lines of file '${b.input_file_id}' call ${other}; every line's url must be the batch's endpoint.`, "endpoint");
  const channel = holdingChannel(ctx, file.channelId, "file");
  const worst = worstCaseOf(ctx, principal, channel, plan, b.input_file_id);

  const key = principal.entry?.key ?? null;
  const a = principal.account;
  const m = principal.membership;
  const admitted: Admitted = {
    requestId, accountId: principal.accountId, orgId: a.kind === "org" ? a.id : null, userId: principal.userId, keyId: key?.id ?? null,
    keyLabel: key?.label ?? "", keyPrefix: key ? keyPrefixOf(ctx, key) : "session", sourceIp: principal.ip, endpoint: "/v1/batches", model: worst.model, stream: false,
  };
  // Per-minute request limits count a batch as one request; its tokens run over hours, not this minute.
  const rates = [
    { scope: "account" as const, id: a.id, rpm: a.rpm, tpm: null },
    ...(key ? [{ scope: "key" as const, id: key.id, rpm: key.rpm, tpm: null }] : []),
    ...(m ? [{ scope: "member" as const, id: `${m.accountId}:${m.userId}`, rpm: m.rpm, tpm: null }] : []),
  ].filter((r) => r.rpm !== null);
  const held = await ctx.admission.admit({
    requestId, accountId: principal.accountId, concurrency: a.concurrency, monthlyTokens: a.monthlyTokens,
    member: m ? { userId: m.userId, monthlySpend: m.monthlySpend, concurrency: m.concurrency } : null,
    keyId: key?.id ?? null, spendLimit: key?.spendLimit ?? null, model: worst.model,
    promptTokens: 0, clientMaxOutput: 0, producesOutput: false, rates, admitted,
    worstCase: { credits: worst.credits, tokens: worst.tokens, what: `This batch (${plan.lines} lines)` },
  });
  held.journal = ctx.journal.admitted(admitted);
  const job: Job = startJob({
    ctx, request, requestId, started, principal, path: "/v1/batches", search: url.search, kind: "other", shape: "openai",
    body: { format: "json", json, model: worst.model, stream: false, clientWantsUsage: false, clientMaxOutput: null, choices: 1 },
    hold: held, candidates: [channel], abort: null, cutWith: null, endStream: null,
  });
  let res: Awaited<ReturnType<typeof forward>>;
  try {
    res = await forward(ctx, request, requestId, channel, url, bytes);
  } catch (err) {
    finish(job, channel, null, { status: err instanceof ApiError ? err.status : 502, errorCode: err instanceof ApiError ? err.errorCode : "upstream_error" });
    throw err;
  }
  const created = jsonOf(res.bytes);
  if (res.status >= 300 || typeof created?.id !== "string") {
    finish(job, channel, null, { status: res.status < 300 ? 502 : res.status, errorCode: "upstream_error" });
    return res.response;
  }
  // Recorded before its prepayment settles, with the prepaying request's id: a kill between the two leaves
  // the request interrupted and charged nothing, and the batch then refunds nothing (settle.ts).
  await ctx.stores.objects.record({
    kind: "batch", upstreamId: created.id, channelId: channel.row.id, accountId: principal.accountId, keyId: key?.id ?? null,
    status: typeof created.status === "string" ? created.status : null, meta: created,
    prepaid: held.credits, model: worst.model, requestId, plan: { prices: worst.prices } satisfies BatchPrices,
  });
  finish(job, channel, worst.model, { status: res.status, errorCode: null, prepay: true });
  return res.response;
}

/**
 * Every model the file's lines name must be one this key may use, served by the file's channel under its
 * own name (a batch file's lines reach the upstream as written), and, where it is billed, capped in output.
 */
function worstCaseOf(ctx: AppContext, principal: Principal, channel: LiveChannel, plan: BatchPlan, fileId: string): WorstCase {
  const quotaed = principal.account.monthlyTokens > 0;
  const w: WorstCase = { credits: 0, tokens: 0, prices: {}, model: "" };
  for (const [model, bounds] of Object.entries(plan.models)) {
    requireModelAllowed(principal, model);
    if (!channel.serves.has(model)) {
      throw new ApiError("model_not_found", `Lines of file '${fileId}' name the model '${model}', which the channel holding the file does not serve; name a model this relay serves.`, "model");
    }
    const renamed = channel.row.modelMap[model];
    if (renamed !== undefined && renamed !== model) {
      throw new ApiError("invalid_request", `The model '${model}' is renamed by the channel that holds file '${fileId}', which a batch file's lines cannot be; ask the relay's operator which name to use in batches.`, "model");
    }
    const price = batchPriceOf(ctx.prices.get(model));
    if ((isPriced(price) || quotaed) && bounds.uncapped > 0) {
      throw new ApiError("invalid_request", `${bounds.uncapped} line(s) of file '${fileId}' for model '${model}' set no output cap; set max_tokens (max_completion_tokens, or max_output_tokens for /v1/responses) on every line, so relay can hold the batch's worst case.`, "input_file_id");
    }
    w.credits += holdCostOf(price, bounds.promptTokens, bounds.outputTokens) + (bounds.lines - 1) * price.perRequest;
    w.tokens += bounds.promptTokens + bounds.outputTokens;
    w.prices[model] = price;
    if (!w.model) w.model = model;
  }
  return w;
}
