/**
 * A real HTTP server on a loopback port that stands in for OpenAI in tests, benchmarks and drills.
 * It is a real socket (not a fetch stub) so the relay's timeouts, aborts and broken connections are
 * exercised exactly as they would be against a provider.
 *
 * Behaviour per request, first match wins: the `x-mock-behavior` request header (JSON MockOptions),
 * else the next `queue()`d entry, else the default from `set()`. Header and queue entries are merged
 * over the default, so `set({ content: "x" })` + `queue({ behavior: "status" })` keeps the content.
 * Behaviours apply to every /v1 route, GET /v1/models included.
 */

export type MockBehavior =
  | "normal" // answer at once
  | "slow" // wait `delayMs` before the headers, then answer normally
  | "status" // answer `status` with an OpenAI error body (and `Retry-After` if `retryAfter`)
  | "hang" // never send headers; ends only when the client goes away
  | "disconnect" // stream: `chunks` content chunks, then cut the connection; otherwise: cut before any byte
  | "drip"; // headers and first chunk at once, then one chunk every `delayMs` (a JSON body is split into `chunks` pieces)

export type MockOptions = {
  /** @default "normal" */
  behavior?: MockBehavior;
  /** @default 500 */
  status?: number;
  /** seconds, sent as `Retry-After` with "status" */
  retryAfter?: number;
  /** @default 200 for "slow", 50 for "drip" */
  delayMs?: number;
  /** content chunks in a stream; pieces of a dripped JSON body @default 5 */
  chunks?: number;
  /** honour `stream_options.include_usage` @default true */
  usageInStream?: boolean;
  /** non-stream content; streams always send "tok1 ", "tok2 ", … so token counts are predictable @default "Hello from <name>" */
  content?: string;
  /** @default 10 */
  promptTokens?: number;
  /** per answer, capped by the request's `max_tokens` / `max_completion_tokens` (unless `ignoreMaxTokens`); times `n` (or `best_of`) answers @default 5 */
  completionTokens?: number;
  /** a tool call after the content (chat only): `finish_reason` "tool_calls"; streamed, its arguments come in two pieces */
  toolCall?: { id: string; name: string; arguments: string };
  /** `reasoning_content` before the content (chat only), as DeepSeek and vLLM send it */
  reasoning?: string;
  /** `usage.prompt_tokens_details.cached_tokens` (part of promptTokens) @default 0 */
  cachedTokens?: number;
  /** answer 400 when the body has this field, as OpenAI's reasoning models do for `max_tokens` (and others for `max_completion_tokens`) */
  rejectField?: "max_tokens" | "max_completion_tokens";
  /** the model id answered, instead of the one asked for (as an upstream that answers with a dated snapshot id) */
  answerModel?: string;
  /** report `completionTokens` per answer whatever cap the request set, as an upstream that ignores it would */
  ignoreMaxTokens?: boolean;
  /** stream: keep the connection open this long after the last event (`data: [DONE]`), as an upstream slow to close */
  holdOpenMs?: number;
};

/** `path` is the OpenAI path answered; an Azure-style request (/openai/deployments/D/…) also records `rawPath` and `query`. */
export type RecordedRequest = { method: string; path: string; headers: Record<string, string>; body: any; at: number; rawPath?: string; query?: string };

/**
 * Azure OpenAI's paths, answered as OpenAI's: /openai/deployments/{d}/chat/completions → /v1/chat/completions,
 * /openai/files → /v1/files. So the same mock stands in for an `azure` channel.
 */
function openAIPathOf(path: string): string {
  const m = /^\/openai\/deployments\/[^/]+\/(.+)$/.exec(path);
  if (m) return `/v1/${m[1]}`;
  return path.startsWith("/openai/") ? `/v1/${path.slice(8)}` : path;
}

export type MockUpstream = {
  /** http://127.0.0.1:PORT, no trailing slash; clients use `${url}/v1` */
  url: string;
  port: number;
  name: string;
  requests: RecordedRequest[];
  inFlight: number;
  maxInFlight: number;
  /** requests whose client went away before the mock finished answering */
  aborted: number;
  set(opts: MockOptions): void;
  queue(...opts: MockOptions[]): void;
  /** clears requests, queue and counters (inFlight stays: those requests are still open) and sets behaviour to normal */
  reset(): void;
  stop(): Promise<void>;
};

/** What one request needs to answer: resolved options, parsed body, and a once-only completion hook. */
type Call = { opts: MockOptions; body: any; path: string; seq: number; signal: AbortSignal; finish(aborted: boolean): void };

const enc = new TextEncoder();
const MODELS = ["gpt-4o-mini", "gpt-4o", "text-embedding-3-small", "gpt-3.5-turbo-instruct"];

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
    return text; // multipart or plain bodies are kept raw
  }
}

function errorBody(name: string, status: number) {
  const [type, code] =
    status === 429 ? ["requests", "rate_limit_exceeded"]
    : status === 401 ? ["invalid_request_error", "invalid_api_key"]
    : status >= 500 ? ["server_error", null]
    : ["invalid_request_error", null];
  return { error: { message: `mock upstream ${name} answered ${status}`, type, code, param: null } };
}

function usage(o: MockOptions, body: any) {
  const prompt = o.promptTokens ?? 10;
  const cap = body?.max_completion_tokens ?? body?.max_tokens;
  const wanted = o.completionTokens ?? 5;
  const perAnswer = typeof cap === "number" && cap < wanted && !o.ignoreMaxTokens ? cap : wanted;
  // Like OpenAI: `n` answers (completions: `best_of` generated), the prompt counted once.
  const answers = Math.max(typeof body?.n === "number" ? body.n : 1, typeof body?.best_of === "number" ? body.best_of : 1);
  const completion = perAnswer * answers;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion, ...cacheDetails(o) };
}

function cacheDetails(o: MockOptions) {
  return o.cachedTokens ? { prompt_tokens_details: { cached_tokens: o.cachedTokens } } : {};
}

/** The JSON payload for a non-stream request, or null for an unknown route. */
function payload(name: string, method: string, c: Call): unknown {
  const { body, opts, path } = c;
  const created = Math.floor(Date.now() / 1000);
  const model = opts.answerModel ?? body?.model ?? "gpt-4o-mini";
  const content = opts.content ?? `Hello from ${name}`;
  if (path === "/v1/chat/completions") {
    const message: Record<string, unknown> = { role: "assistant", content };
    if (opts.reasoning) message.reasoning_content = opts.reasoning;
    if (opts.toolCall) message.tool_calls = [{ id: opts.toolCall.id, type: "function", function: { name: opts.toolCall.name, arguments: opts.toolCall.arguments } }];
    const choices = [{ index: 0, message, finish_reason: opts.toolCall ? "tool_calls" : "stop", logprobs: null }];
    return { id: `chatcmpl-mock-${c.seq}`, object: "chat.completion", created, model, choices, usage: usage(opts, body) };
  }
  if (path === "/v1/completions") {
    const choices = [{ text: content, index: 0, finish_reason: "stop", logprobs: null }];
    return { id: `cmpl-mock-${c.seq}`, object: "text_completion", created, model, choices, usage: usage(opts, body) };
  }
  if (path === "/v1/embeddings") {
    const input = body?.input;
    // A flat number array is one tokenised input, not many.
    const n = Array.isArray(input) && !input.every((x) => typeof x === "number") ? input.length : 1;
    const data = Array.from({ length: n }, (_, index) => ({ object: "embedding", index, embedding: [0.1, 0.2, 0.3] }));
    const prompt = opts.promptTokens ?? 10;
    return { object: "list", data, model, usage: { prompt_tokens: prompt, total_tokens: prompt } };
  }
  if (path === "/v1/models") {
    return { object: "list", data: MODELS.map((id) => ({ id, object: "model", created: 1700000000, owned_by: "mock" })) };
  }
  if (path === "/v1/responses") return responseObject(c, content, "completed");
  if (path.startsWith("/v1/")) {
    return { object: "passthrough", path, method, model: body?.model, usage: { prompt_tokens: 3, completion_tokens: 0, total_tokens: 3 } };
  }
  return null;
}

/** A Responses API response object with one output message (text `content`) and its usage. */
function responseObject(c: Call, content: string, status: string) {
  const u = usage(c.opts, c.body);
  return {
    id: `resp_mock_${c.seq}`, object: "response", created_at: Math.floor(Date.now() / 1000), status,
    model: c.opts.answerModel ?? c.body?.model ?? "gpt-4o-mini",
    output: status === "in_progress" ? [] : [{ id: `msg_mock_${c.seq}`, type: "message", status: "completed", role: "assistant", content: [{ type: "output_text", text: content, annotations: [] }] }],
    usage: status === "in_progress" ? null : { input_tokens: u.prompt_tokens, output_tokens: u.completion_tokens, total_tokens: u.total_tokens, input_tokens_details: { cached_tokens: c.opts.cachedTokens ?? 0 }, output_tokens_details: { reasoning_tokens: 0 } },
  };
}

/** The Responses API's event stream: created, the message's text in `chunks` deltas, completed with usage. */
function responsesEvents(c: Call): string[] {
  const n = c.opts.chunks ?? 5;
  const pieces = Array.from({ length: n }, (_, i) => `tok${i + 1} `);
  const text = pieces.join("");
  const item = `msg_mock_${c.seq}`;
  const ev = (type: string, body: object) => `event: ${type}\ndata: ${JSON.stringify({ type, ...body })}\n\n`;
  const events = [
    ev("response.created", { response: responseObject(c, "", "in_progress"), sequence_number: 0 }),
    ev("response.output_item.added", { output_index: 0, item: { id: item, type: "message", status: "in_progress", role: "assistant", content: [] } }),
    ev("response.content_part.added", { item_id: item, output_index: 0, content_index: 0, part: { type: "output_text", text: "", annotations: [] } }),
    ...pieces.map((delta) => ev("response.output_text.delta", { item_id: item, output_index: 0, content_index: 0, delta })),
  ];
  if (c.opts.behavior === "disconnect") return events;
  const done = responseObject(c, text, "completed");
  (done.usage as { output_tokens: number }).output_tokens = n;
  return [
    ...events,
    ev("response.output_text.done", { item_id: item, output_index: 0, content_index: 0, text }),
    ev("response.content_part.done", { item_id: item, output_index: 0, content_index: 0, part: { type: "output_text", text, annotations: [] } }),
    ev("response.output_item.done", { output_index: 0, item: { id: item, type: "message", status: "completed", role: "assistant", content: [{ type: "output_text", text, annotations: [] }] } }),
    ev("response.completed", { response: done }),
  ];
}

/** SSE events for a streamed chat or text completion, ending with [DONE]. */
function sseEvents(c: Call): string[] {
  if (c.path === "/v1/responses") return responsesEvents(c);
  const { body, opts } = c;
  const chat = c.path === "/v1/chat/completions";
  const n = opts.chunks ?? 5;
  const head = {
    id: `${chat ? "chatcmpl" : "cmpl"}-mock-${c.seq}`,
    object: chat ? "chat.completion.chunk" : "text_completion",
    created: Math.floor(Date.now() / 1000),
    model: opts.answerModel ?? body?.model ?? "gpt-4o-mini",
  };
  const choice = (text: string | null, i: number) =>
    chat
      ? { index: 0, delta: text === null ? {} : i === 1 ? { role: "assistant", content: text } : { content: text }, finish_reason: text === null ? "stop" : null }
      : { index: 0, text: text ?? "", finish_reason: text === null ? "stop" : null, logprobs: null };
  const events: unknown[] = [];
  // Like OpenAI: asked for usage, every chunk carries `"usage": null` and the last one the numbers.
  const withUsage = body?.stream_options?.include_usage === true && opts.usageInStream !== false;
  const nullUsage = withUsage ? { usage: null } : {};
  if (chat && opts.reasoning) events.push({ ...head, choices: [{ index: 0, delta: { role: "assistant", reasoning_content: opts.reasoning }, finish_reason: null }], ...nullUsage });
  for (let i = 1; i <= n; i++) events.push({ ...head, choices: [choice(`tok${i} `, i)], ...nullUsage });
  if (opts.behavior === "disconnect") return events.map((e) => `data: ${JSON.stringify(e)}\n\n`);
  const tool = chat ? opts.toolCall : undefined;
  if (tool) {
    const half = Math.ceil(tool.arguments.length / 2);
    const call = (extra: object, args: string) => ({ index: 0, delta: { tool_calls: [{ index: 0, ...extra, function: { ...("id" in extra ? { name: tool.name } : {}), arguments: args } }] }, finish_reason: null });
    events.push({ ...head, choices: [call({ id: tool.id, type: "function" }, tool.arguments.slice(0, half))], ...nullUsage });
    events.push({ ...head, choices: [call({}, tool.arguments.slice(half))], ...nullUsage });
  }
  events.push({ ...head, choices: [tool ? { index: 0, delta: {}, finish_reason: "tool_calls" } : choice(null, 0)], ...nullUsage });
  if (withUsage) {
    const prompt = opts.promptTokens ?? 10;
    events.push({ ...head, choices: [], usage: { prompt_tokens: prompt, completion_tokens: n, total_tokens: prompt + n, ...cacheDetails(opts) } });
  }
  return [...events.map((e) => `data: ${JSON.stringify(e)}\n\n`), "data: [DONE]\n\n"];
}

/**
 * A body that sends `pieces` one at a time, `gapMs` apart, so each really leaves as its own write.
 * With `cut`, the stream errors after the last piece: Bun then drops the socket without the final
 * zero-length chunk, which the client sees as a connection reset rather than a clean end.
 */
function emit(pieces: string[], gapMs: number, cut: boolean, c: Call, holdOpenMs = 0): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream<Uint8Array>({
    async pull(ctrl) {
      if (i > 0) await sleep(i === pieces.length && !cut ? holdOpenMs : gapMs, c.signal);
      if (c.signal.aborted) return c.finish(true);
      if (i === pieces.length && !cut) {
        c.finish(false); // held open after the last piece; now it ends
        return ctrl.close();
      }
      if (i === pieces.length) {
        // Only reached with `cut`, one pull after the last piece: erroring in the same pull would drop
        // that still-queued piece. An `undefined` reason stops Bun logging the error.
        c.finish(false);
        return ctrl.error(undefined);
      }
      ctrl.enqueue(enc.encode(pieces[i++]!));
      // Close together with the last piece, so a client that stops at [DONE] finds the mock already done.
      if (i === pieces.length && !cut && !holdOpenMs) {
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
  const headers: Record<string, string> = { "x-mock-upstream": name };
  const behavior = opts.behavior ?? "normal";
  const streaming = c.body?.stream === true && (c.path === "/v1/chat/completions" || c.path === "/v1/completions" || c.path === "/v1/responses");
  if (behavior === "hang") {
    await new Promise((resolve) => signal.addEventListener("abort", resolve, { once: true }));
    return new Response(null, { status: 499 }); // nobody reads it; the client is gone
  }
  if (behavior === "slow") {
    await sleep(opts.delayMs ?? 200, signal);
    if (signal.aborted) return new Response(null, { status: 499 });
  }
  if (opts.rejectField && c.body && typeof c.body === "object" && opts.rejectField in c.body) {
    const other = opts.rejectField === "max_tokens" ? "max_completion_tokens" : "max_tokens";
    c.finish(false);
    return Response.json({
      error: { message: `Unsupported parameter: '${opts.rejectField}' is not supported with this model. Use '${other}' instead.`, type: "invalid_request_error", param: opts.rejectField, code: "unsupported_parameter" },
    }, { status: 400, headers });
  }
  if (behavior === "status") {
    const status = opts.status ?? 500;
    if (opts.retryAfter !== undefined) headers["retry-after"] = String(opts.retryAfter);
    c.finish(false);
    return Response.json(errorBody(name, status), { status, headers });
  }
  if (behavior === "disconnect" && !streaming) {
    c.finish(false);
    // Erroring before the first byte makes Bun close the socket with nothing written.
    return new Response(new ReadableStream({ start: (ctrl) => ctrl.error(undefined) }), { headers });
  }
  if (streaming) {
    const gap = behavior === "drip" ? (opts.delayMs ?? 50) : 1;
    headers["content-type"] = "text/event-stream";
    headers["cache-control"] = "no-cache";
    return new Response(emit(sseEvents(c), gap, behavior === "disconnect", c, opts.holdOpenMs ?? 0), { headers });
  }
  const data = payload(name, req.method, c);
  if (data === null) {
    c.finish(false);
    return Response.json({ error: { message: `mock: no route ${c.path}`, type: "invalid_request_error", code: "not_found", param: null } }, { status: 404, headers });
  }
  headers["content-type"] = "application/json";
  if (behavior === "drip") {
    const text = JSON.stringify(data);
    const size = Math.ceil(text.length / Math.max(1, opts.chunks ?? 5));
    const pieces = Array.from({ length: Math.ceil(text.length / size) }, (_, k) => text.slice(k * size, (k + 1) * size));
    return new Response(emit(pieces, opts.delayMs ?? 50, false, c), { headers });
  }
  c.finish(false);
  return new Response(JSON.stringify(data), { headers });
}

/** Starts a mock upstream on 127.0.0.1 with a free port. */
export async function startMockUpstream(name = "mock", opts: MockOptions = {}): Promise<MockUpstream> {
  let defaults: MockOptions = { ...opts };
  let pending: MockOptions[] = [];
  let seq = 0;

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0, // "hang" must outlast any client timeout under test; Bun's default would cut it at 10 s
    async fetch(req) {
      const url = new URL(req.url);
      const path = openAIPathOf(url.pathname);
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
      mock.requests.push({
        method: req.method, path, headers: Object.fromEntries(req.headers), body, at: Date.now(),
        ...(path !== url.pathname ? { rawPath: url.pathname, query: url.search } : {}),
      });
      let override: MockOptions | undefined;
      const raw = req.headers.get("x-mock-behavior");
      try {
        override = raw ? (JSON.parse(raw) as MockOptions) : pending.shift();
      } catch {
        finish(false);
        return Response.json({ error: { message: "mock: x-mock-behavior is not JSON", type: "invalid_request_error", code: null, param: null } }, { status: 400 });
      }
      const call: Call = { opts: { ...defaults, ...override }, body, path, seq: ++seq, signal: req.signal, finish };
      return respond(name, req, call);
    },
  });

  const mock: MockUpstream = {
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
