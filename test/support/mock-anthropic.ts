/**
 * A real HTTP server on a loopback port that stands in for Anthropic's Messages API in tests, benchmarks
 * and drills: the Anthropic twin of `mock-upstream.ts`, with the same control interface. Behaviour per
 * request, first match wins: the `x-mock-behavior` request header (JSON), else the next `queue()`d entry,
 * else the default from `set()`; header and queue entries are merged over the default.
 *
 * Before any behaviour it checks what the real API checks, so a relay that drops a header is caught
 * whatever the upstream's mood: a key (401), `anthropic-version` (400), the route (404), `max_tokens` (400).
 * The key may come as `x-api-key` or `Authorization: Bearer`: the API takes both, and the official SDK
 * sends `apiKey` as Bearer since API version 2026-10-21. `requireXApiKey` refuses Bearer, for callers that
 * must send `x-api-key`.
 */
import type { MockBehavior, RecordedRequest } from "./mock-upstream";

export type { MockBehavior };

export type AnthropicMockOptions = {
  /** @default "normal" */
  behavior?: MockBehavior;
  /** @default 500 */
  status?: number;
  /** seconds, sent as `retry-after` with "status" */
  retryAfter?: number;
  /** @default 200 for "slow", 50 for "drip" */
  delayMs?: number;
  /** text deltas in a stream; pieces of a dripped JSON body @default 5 */
  chunks?: number;
  /** non-stream text; streams always send "tok1 ", "tok2 ", … so token counts are predictable @default "Hello from <name>" */
  content?: string;
  /** a tool_use block after the text block, and stop_reason "tool_use" */
  toolUse?: { name: string; input: Record<string, unknown> };
  /** a leading thinking block with this text and signature "sig" */
  thinking?: string;
  /** `usage.input_tokens`, and the answer of count_tokens @default 10 */
  promptTokens?: number;
  /** `usage.cache_read_input_tokens` @default 0 */
  cacheReadTokens?: number;
  /** `usage.cache_creation_input_tokens` @default 0 */
  cacheWriteTokens?: number;
  /** output tokens, capped by the request's `max_tokens` (stop_reason "max_tokens") @default 5, in a stream the number of text deltas */
  completionTokens?: number;
  /** report `completionTokens` whatever `max_tokens` says, as an upstream that ignores it would */
  ignoreMaxTokens?: boolean;
  /** the model id answered, instead of the one asked for (as an upstream that answers with a dated snapshot id) */
  answerModel?: string;
  /** accept the key only from `x-api-key`; a Bearer-only request gets 401 @default false */
  requireXApiKey?: boolean;
};

/** `path` has no query string; `query` is its search part ("" or "?beta=true"); `apiKey` from either header. */
export type AnthropicRecordedRequest = RecordedRequest & { query: string; apiKey: string | null };

export type MockAnthropic = {
  /** http://127.0.0.1:PORT, no trailing slash: Anthropic's SDK takes it as `baseURL` and adds /v1 itself */
  url: string;
  port: number;
  name: string;
  requests: AnthropicRecordedRequest[];
  inFlight: number;
  maxInFlight: number;
  /** requests whose client went away before the mock finished answering */
  aborted: number;
  set(opts: AnthropicMockOptions): void;
  queue(...opts: AnthropicMockOptions[]): void;
  /** clears requests, queue and counters (inFlight stays: those requests are still open) and sets behaviour to normal */
  reset(): void;
  stop(): Promise<void>;
};

type Call = { opts: AnthropicMockOptions; body: any; path: string; seq: number; signal: AbortSignal; finish(aborted: boolean): void };

const enc = new TextEncoder();
const ROUTES = new Set(["POST /v1/messages", "POST /v1/messages/count_tokens", "GET /v1/models"]);
const MODELS = [
  { id: "claude-opus-5-5", display_name: "Claude Opus 5.5", created_at: "2026-10-21T00:00:00Z" },
  { id: "claude-sonnet-5-5", display_name: "Claude Sonnet 5.5", created_at: "2026-10-21T00:00:00Z" },
  { id: "claude-haiku-5-5", display_name: "Claude Haiku 5.5", created_at: "2026-10-21T00:00:00Z" },
];
const ERROR_TYPES: Record<number, string> = {
  400: "invalid_request_error",
  401: "authentication_error",
  402: "billing_error",
  403: "permission_error",
  404: "not_found_error",
  413: "request_too_large",
  429: "rate_limit_error",
  500: "api_error",
  504: "timeout_error",
  529: "overloaded_error",
};
/** Sampling parameters that API version 2026-10-21 refuses with a 400, even at their default values. */
const REMOVED_IN_2026_10_21 = ["temperature", "top_p", "top_k"];

/** Resolves after `ms`, or at once when the client aborts, so no behaviour outlives its request. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

function parseBody(text: string): any {
  if (text === "") return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

const keyOf = (h: Headers) => h.get("x-api-key") || /^Bearer (\S+)$/.exec(h.get("authorization") ?? "")?.[1] || null;

/** Why the real API would refuse this request, as [status, message], or null when it would answer. */
function refusal(req: Request, c: Call): [number, string] | null {
  const strict = c.opts.requireXApiKey === true;
  if (!(strict ? req.headers.get("x-api-key") : keyOf(req.headers))) {
    return [401, strict ? "x-api-key header is required" : "x-api-key or Authorization header is required"];
  }
  const version = req.headers.get("anthropic-version");
  if (!version) return [400, "anthropic-version header is required"];
  if (!ROUTES.has(`${req.method} ${c.path}`)) return [404, `Not found: ${req.method} ${c.path}`];
  if (req.method !== "POST") return null;
  if (typeof c.body !== "object" || c.body === null || Array.isArray(c.body)) return [400, "The request body is not valid JSON"];
  if (c.path === "/v1/messages" && typeof c.body.max_tokens !== "number") return [400, "max_tokens: Field required"];
  const removed = version === "2026-10-21" && REMOVED_IN_2026_10_21.find((p) => p in c.body);
  if (removed) return [400, `${removed}: not supported in API version 2026-10-21`];
  return null;
}

function fail(c: Call, headers: Record<string, string>, status: number, message: string): Response {
  c.finish(false);
  const type = ERROR_TYPES[status] ?? (status >= 500 ? "api_error" : "invalid_request_error");
  return Response.json({ type: "error", error: { type, message }, request_id: headers["request-id"] }, { status, headers });
}

const usageOf = (o: AnthropicMockOptions, output: number) => ({
  input_tokens: o.promptTokens ?? 10,
  output_tokens: output,
  cache_creation_input_tokens: o.cacheWriteTokens ?? 0,
  cache_read_input_tokens: o.cacheReadTokens ?? 0,
});

/** Output tokens and stop reason for `wanted` tokens under the request's `max_tokens`. */
function outcome(o: AnthropicMockOptions, body: any, wanted: number) {
  if (!o.ignoreMaxTokens && body.max_tokens < wanted) return { output: body.max_tokens as number, stop: "max_tokens" };
  return { output: wanted, stop: o.toolUse ? "tool_use" : "end_turn" };
}

const head = (c: Call) => ({
  id: `msg_mock_${c.seq}`,
  type: "message",
  role: "assistant",
  model: c.opts.answerModel ?? c.body.model ?? "claude-sonnet-5-5",
});

/** The JSON answer of a non-stream request on a known route. */
function payload(name: string, c: Call): unknown {
  const o = c.opts;
  if (c.path === "/v1/messages/count_tokens") return { input_tokens: o.promptTokens ?? 10 };
  if (c.path === "/v1/models") {
    const data = MODELS.map((m) => ({ type: "model", ...m }));
    return { data, has_more: false, first_id: data[0]!.id, last_id: data.at(-1)!.id };
  }
  const content: unknown[] = [];
  if (o.thinking !== undefined) content.push({ type: "thinking", thinking: o.thinking, signature: "sig" });
  content.push({ type: "text", text: o.content ?? `Hello from ${name}` });
  if (o.toolUse) content.push({ type: "tool_use", id: `toolu_mock_${c.seq}`, name: o.toolUse.name, input: o.toolUse.input });
  const { output, stop } = outcome(o, c.body, o.completionTokens ?? 5);
  return { ...head(c), content, stop_reason: stop, stop_sequence: null, usage: usageOf(o, output) };
}

/** A streamed message in Anthropic's framing; with "disconnect", only up to the last text delta. */
function streamEvents(c: Call): string[] {
  const o = c.opts;
  const n = o.chunks ?? 5;
  const { output, stop } = outcome(o, c.body, o.completionTokens ?? n);
  const events: { type: string; [k: string]: unknown }[] = [
    { type: "message_start", message: { ...head(c), content: [], stop_reason: null, stop_sequence: null, usage: usageOf(o, 1) } },
    { type: "ping" },
  ];
  let index = 0;
  const block = (start: object, deltas: object[]) => {
    events.push({ type: "content_block_start", index, content_block: start });
    for (const delta of deltas) events.push({ type: "content_block_delta", index, delta });
    events.push({ type: "content_block_stop", index: index++ });
  };
  if (o.thinking !== undefined) {
    block({ type: "thinking", thinking: "", signature: "" }, [{ type: "thinking_delta", thinking: o.thinking }, { type: "signature_delta", signature: "sig" }]);
  }
  block({ type: "text", text: "" }, Array.from({ length: n }, (_, k) => ({ type: "text_delta", text: `tok${k + 1} ` })));
  if (o.behavior === "disconnect") events.pop(); // cut right after the last text delta
  else {
    if (o.toolUse) {
      const json = JSON.stringify(o.toolUse.input);
      const size = Math.ceil(json.length / 3);
      const pieces = Array.from({ length: Math.ceil(json.length / size) }, (_, k) => json.slice(k * size, (k + 1) * size));
      block({ type: "tool_use", id: `toolu_mock_${c.seq}`, name: o.toolUse.name, input: {} }, pieces.map((p) => ({ type: "input_json_delta", partial_json: p })));
    }
    events.push({ type: "message_delta", delta: { stop_reason: stop, stop_sequence: null }, usage: { output_tokens: output } });
    events.push({ type: "message_stop" });
  }
  return events.map((e) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`);
}

/**
 * A body that sends `pieces` one at a time, `gapMs` apart, so each really leaves as its own write.
 * With `cut`, the stream errors after the last piece: Bun then drops the socket without the final
 * zero-length chunk, which the client sees as a connection reset rather than a clean end.
 * (A copy of mock-upstream.ts's, which is not exported.)
 */
function emit(pieces: string[], gapMs: number, cut: boolean, c: Call): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    async pull(ctrl) {
      if (i > 0) await sleep(gapMs, c.signal);
      if (c.signal.aborted) return c.finish(true);
      if (i === pieces.length) {
        // Only reached with `cut`, one pull after the last piece: erroring in the same pull would drop it.
        c.finish(false);
        return ctrl.error(undefined);
      }
      ctrl.enqueue(enc.encode(pieces[i++]!));
      if (i === pieces.length && !cut) {
        c.finish(false);
        ctrl.close();
      }
    },
    cancel() {
      c.finish(true);
    },
  });
}

async function respond(name: string, req: Request, c: Call): Promise<Response> {
  const { opts, signal } = c;
  const headers: Record<string, string> = { "x-mock-upstream": name, "request-id": `req_mock_${c.seq}` };
  const refused = refusal(req, c);
  if (refused) return fail(c, headers, ...refused);
  const behavior = opts.behavior ?? "normal";
  const streaming = c.path === "/v1/messages" && c.body.stream === true;
  if (behavior === "hang") {
    await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
    return new Response(null, { status: 499 }); // nobody reads it; the client is gone
  }
  if (behavior === "slow") {
    await sleep(opts.delayMs ?? 200, signal);
    if (signal.aborted) return new Response(null, { status: 499 });
  }
  if (behavior === "status") {
    if (opts.retryAfter !== undefined) headers["retry-after"] = String(opts.retryAfter);
    const status = opts.status ?? 500;
    return fail(c, headers, status, `mock upstream ${name} answered ${status}`);
  }
  if (behavior === "disconnect" && !streaming) {
    c.finish(false);
    // Erroring before the first byte makes Bun close the socket with nothing written.
    return new Response(new ReadableStream({ start: (ctrl) => ctrl.error(undefined) }), { headers });
  }
  if (streaming) {
    headers["content-type"] = "text/event-stream";
    headers["cache-control"] = "no-cache";
    const gap = behavior === "drip" ? (opts.delayMs ?? 50) : 1;
    return new Response(emit(streamEvents(c), gap, behavior === "disconnect", c), { headers });
  }
  headers["content-type"] = "application/json";
  const text = JSON.stringify(payload(name, c));
  if (behavior === "drip") {
    const size = Math.ceil(text.length / Math.max(1, opts.chunks ?? 5));
    const pieces = Array.from({ length: Math.ceil(text.length / size) }, (_, k) => text.slice(k * size, (k + 1) * size));
    return new Response(emit(pieces, opts.delayMs ?? 50, false, c), { headers });
  }
  c.finish(false);
  return new Response(text, { headers });
}

/** Starts a mock Anthropic API on 127.0.0.1 with a free port. */
export async function startMockAnthropic(name = "anthropic", opts: AnthropicMockOptions = {}): Promise<MockAnthropic> {
  let defaults: AnthropicMockOptions = { ...opts };
  let pending: AnthropicMockOptions[] = [];
  let seq = 0;

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0, // "hang" must outlast any client timeout under test; Bun's default would cut it at 10 s
    async fetch(req) {
      const url = new URL(req.url);
      const path = url.pathname;
      let settled = false;
      mock.inFlight++;
      mock.maxInFlight = Math.max(mock.maxInFlight, mock.inFlight);
      const finish = (aborted: boolean) => {
        if (settled) return;
        settled = true;
        mock.inFlight--;
        if (aborted) mock.aborted++;
      };
      req.signal.addEventListener("abort", () => finish(true), { once: true });
      const body = parseBody(req.method === "GET" || req.method === "HEAD" ? "" : await req.text());
      const headers = Object.fromEntries(req.headers);
      mock.requests.push({ method: req.method, path, query: url.search, headers, body, apiKey: keyOf(req.headers), at: Date.now() });
      let override: AnthropicMockOptions | undefined;
      const raw = req.headers.get("x-mock-behavior");
      const call: Call = { opts: defaults, body, path, seq: ++seq, signal: req.signal, finish };
      try {
        override = raw ? (JSON.parse(raw) as AnthropicMockOptions) : pending.shift();
      } catch {
        return fail(call, { "x-mock-upstream": name, "request-id": `req_mock_${call.seq}` }, 400, "mock: x-mock-behavior is not JSON");
      }
      call.opts = { ...defaults, ...override };
      return respond(name, req, call);
    },
  });

  const mock: MockAnthropic = {
    url: `http://127.0.0.1:${server.port}`,
    port: server.port!,
    name,
    requests: [],
    inFlight: 0,
    maxInFlight: 0,
    aborted: 0,
    set(o) {
      defaults = { ...o };
    },
    queue(...o) {
      pending.push(...o);
    },
    reset() {
      mock.requests.length = 0; // keep the array: tests may hold a reference to it
      pending = [];
      defaults = {};
      mock.maxInFlight = mock.inFlight;
      mock.aborted = 0;
    },
    async stop() {
      await server.stop(true);
    },
  };
  return mock;
}
