import { errorCodes, type ErrorCode } from "../errors";
import type { LiveChannel } from "../channels/registry";
import { countPrompt } from "./tokens";
import { answering, finish, responseHeaders, type Job, type Outcome } from "./job";
import type { StreamPlan } from "./conversions/types";
import { relaySse, type StreamEnd, type StreamResult } from "./stream/passthrough";
import { relayTranslated } from "./stream/translated";

const STATUS: Record<Exclude<StreamEnd, "done" | "cut">, number> = { client_abort: 499, idle_timeout: 504, upstream_error: 502 };
const CODE: Record<Exclude<StreamEnd, "done" | "cut">, string> = { client_abort: "client_closed", idle_timeout: "upstream_timeout", upstream_error: "upstream_error" };

/**
 * Relays an upstream's event stream, as its own bytes or translated, and accounts for it when it ends,
 * however it ends. A stream that is cut (a revocation) or breaks is charged for what it delivered: the
 * reported usage, or the tokenizer's count of the forwarded text.
 */
export async function streamResponse(job: Job, channel: LiveChannel, upstreamModel: string, plan: StreamPlan, res: Response, abort: AbortController,
  onClientAbort: (fn: () => void) => void, ttfbMs: number, idleMs: number): Promise<Response> {
  const b = job.body;
  const onCuttable = (end: (code: ErrorCode, message: string) => void) => {
    job.endStream = end;
    if (job.cutWith) end(job.cutWith.code, job.cutWith.message); // cut while the first read was pending
  };
  const outcome = ({ end, usage, completionEstimate }: StreamResult): Outcome => {
    const estimated = usage === null;
    const output = usage?.output ?? completionEstimate();
    // A stream the upstream broke or stalled before it produced a single token is a failed request that
    // produced nothing, and such a request costs nothing (issue 4): not even its estimated prompt.
    const failedEmpty = estimated && output === 0 && (end === "upstream_error" || end === "idle_timeout");
    const cut = end === "cut" ? job.cutWith : null;
    return {
      status: end === "done" ? res.status : cut ? errorCodes[cut.code][0] : STATUS[end as keyof typeof STATUS],
      errorCode: end === "done" ? null : cut ? cut.code : CODE[end as keyof typeof CODE],
      errorDetail: end === "upstream_error" || end === "idle_timeout" ? `${channel.row.name}: stream ${end}` : null,
      ttfbMs,
      usage: usage ?? { input: failedEmpty ? 0 : b.format === "json" ? countPrompt(b.json) : 0, cacheRead: 0, cacheWrite: 0, output },
      tokensEstimated: estimated,
    };
  };
  const onEnd = (result: StreamResult) => {
    job.endStream = null;
    if (result.end === "upstream_error" || result.end === "idle_timeout") channel.breaker.onFailure(`${channel.row.name}: stream ${result.end}`);
    finish(job, channel, upstreamModel, outcome(result));
  };
  // Just before the client has the whole answer: journaled as done, in case the process dies before onEnd.
  const beforeLast = (usage: StreamResult["usage"], completionEstimate: () => number) =>
    answering(job, channel, upstreamModel, outcome({ end: "done", usage, completionEstimate }));
  const common = { body: res.body!, abort, idleMs, onClientAbort, onCuttable, onEnd, beforeLast };
  const stream = plan.kind === "pass"
    ? await relaySse({ ...common, framing: plan.framing, rewrite: plan.rewrite, clientWantsUsage: b.clientWantsUsage })
    : await relayTranslated({ ...common, framing: plan.framing, translator: plan.translator, pingEveryMs: plan.pingEveryMs });
  const headers = responseHeaders(job, "text/event-stream; charset=utf-8");
  headers["cache-control"] = "no-cache";
  return new Response(stream, { status: res.status, headers });
}
