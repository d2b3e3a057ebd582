import type { AppContext } from "../context";
import type { ErrorCode } from "../errors";
import type { Principal } from "../auth/authenticate";
import type { LiveChannel } from "../channels/registry";
import type { Hold } from "../limits/admission";
import { keyPrefixOf } from "../keys/key-format";
import { rateHeaders } from "../limits/rate-limits";
import { journalAnswer, recordRequest, type RequestRecord } from "../usage/recorder";
import type { RelayBody } from "./parse";
import type { EndpointKind } from "./endpoint";
import type { ApiShape } from "../providers/types";
import type { Usage } from "../translate/usage";

/** Per-request state shared by the relay's steps, from admission to accounting. */
export type Job = {
  ctx: AppContext;
  request: Request;
  requestId: string;
  started: number;
  principal: Principal;
  path: string;
  search: string;
  kind: EndpointKind;
  /** The client's API shape: its answers and errors are written in it. */
  shape: ApiShape;
  body: RelayBody;
  hold: Hold;
  /** The channels that can serve it, in no order yet. */
  candidates: LiveChannel[];
  /** The current upstream attempt's controller: aborting it cuts the attempt short. */
  abort: AbortController | null;
  /** Set once the request was cut (a revocation); the attempt loop and the stream end with it. */
  cutWith: { code: ErrorCode; message: string } | null;
  /** While a stream is being relayed: ends it with an error event. */
  endStream: ((code: ErrorCode, message: string) => void) | null;
};

/** How a request ended, for its usage row. */
export type Outcome = {
  status: number;
  errorCode: string | null;
  errorDetail?: string | null;
  ttfbMs?: number;
  /** What the upstream reported (or relay estimated); absent: nothing was generated. */
  usage?: Usage | null;
  tokensEstimated?: boolean;
  /** Charge the whole hold (a background response: refunded what it does not use when it ends). */
  prepay?: boolean;
};

/** Registers a job as running, so a revocation can reach it, and returns it. */
export function startJob(job: Job): Job {
  const key = job.principal.entry?.key ?? null;
  job.ctx.running.add({
    requestId: job.requestId, accountId: job.principal.accountId, userId: job.principal.userId, keyId: key?.id ?? null, digest: key?.hash ?? null,
    ip: job.principal.ip, model: job.body.model, startedAt: job.started, hold: job.hold,
    cut: (code, message) => cutJob(job, code, message),
  });
  return job;
}

/** Ends a running request now: a stream with an error event, an attempt in progress with an error answer. */
export function cutJob(job: Job, code: ErrorCode, message: string): void {
  if (job.cutWith || job.hold.released) return;
  job.cutWith = { code, message };
  if (job.endStream) job.endStream(code, message);
  else job.abort?.abort(new Error(code));
}

/** Settles the hold and logs the request. Safe to call more than once; only the first call counts. */
export function finish(job: Job, channel: LiveChannel | null, upstreamModel: string | null, r: Outcome): number {
  if (job.hold.released) return 0;
  job.ctx.running.delete(job.requestId);
  return recordRequest(job.ctx, job.hold, recordOf(job, channel, upstreamModel, r), r.prepay ?? false);
}

/** A stream about to send its last event: journals its answer, so a kill -9 before `finish` still charges it. */
export function answering(job: Job, channel: LiveChannel, upstreamModel: string, r: Outcome): void {
  if (job.hold.released || !job.hold.journal) return;
  journalAnswer(job.ctx, job.hold, recordOf(job, channel, upstreamModel, r));
}

function recordOf(job: Job, channel: LiveChannel | null, upstreamModel: string | null, r: Outcome): RequestRecord {
  const key = job.principal.entry?.key ?? null;
  const u = r.usage ?? null;
  const p = job.principal;
  return {
    requestId: job.requestId, accountId: p.accountId, orgId: p.account.kind === "org" ? p.accountId : null, userId: p.userId,
    keyId: key?.id ?? null, keyLabel: key?.label ?? "", keyPrefix: key ? keyPrefixOf(job.ctx, key) : "session",
    sourceIp: job.principal.ip, endpoint: job.path, model: job.body.model, upstreamModel: upstreamModel ?? "",
    channelId: channel?.row.id ?? null, status: r.status, errorCode: r.errorCode, stream: job.body.stream,
    promptTokens: u ? u.input + u.cacheRead + u.cacheWrite : 0, completionTokens: u?.output ?? 0,
    cachedTokens: u?.cacheRead ?? 0, cacheWriteTokens: u?.cacheWrite ?? 0, tokensEstimated: r.tokensEstimated ?? false,
    ttfbMs: r.ttfbMs ?? null, totalMs: Math.round(performance.now() - job.started), errorDetail: r.errorDetail ?? null, refused: false,
  };
}

/** An answer's headers: its request id and type, and OpenAI's x-ratelimit-* when a per-minute limit applies. */
export function responseHeaders(job: Job, contentType: string | null): Record<string, string> {
  const h: Record<string, string> = contentType ? { "x-request-id": job.requestId, "content-type": contentType } : { "x-request-id": job.requestId };
  return job.hold.rateStates.length > 0 ? Object.assign(h, rateHeaders(job.hold.rateStates)) : h;
}
