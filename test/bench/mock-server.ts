/**
 * The upstream for `bun run bench`, run as its own process so it never shares the relay's event loop.
 *
 * Two servers on loopback, printed as one JSON line on stdout:
 * - `fast`: a fixed chat completion, or for `"stream": true` a 50-chunk SSE stream written with no gap
 *   between chunks; on /v1/messages, Anthropic's Messages stream with 50 text deltas, framed as Anthropic
 *   frames it (message_start with the input usage, content block events, message_delta, message_stop). It is written here rather than with the test mock because the mock's streams wait
 *   at least one timer tick (about 1 ms in Bun, even for a 0 ms delay) per chunk, which would make every
 *   stream take 50 ms and hide the relay's own cost; it also keeps no record of requests.
 * - `mock`: the test mock (test/support/mock-upstream.ts), for behaviours such as `drip` that keep
 *   streams open (the 1,000-open-streams measurement uses it through the `x-mock-behavior` header).
 */
import { startMockUpstream } from "../support/mock-upstream";

export const STREAM_CHUNKS = 50;
const enc = new TextEncoder();

const completion = JSON.stringify({
  id: "chatcmpl-bench",
  object: "chat.completion",
  created: 1700000000,
  model: "gpt-bench",
  choices: [{ index: 0, message: { role: "assistant", content: "Hello from the bench upstream." }, finish_reason: "stop", logprobs: null }],
  usage: { prompt_tokens: 10, completion_tokens: 7, total_tokens: 17 },
});

const head = { id: "chatcmpl-bench", object: "chat.completion.chunk", created: 1700000000, model: "gpt-bench" };
const chunk = (choices: unknown[], extra: object = {}) => enc.encode(`data: ${JSON.stringify({ ...head, choices, ...extra })}\n\n`);
// Like OpenAI: asked for usage (the relay always asks), every chunk carries `"usage": null`, the last one the numbers.
const contentChunks = (usage: object) => Array.from({ length: STREAM_CHUNKS }, (_, i) =>
  chunk([{ index: 0, delta: i === 0 ? { role: "assistant", content: `tok${i + 1} ` } : { content: `tok${i + 1} ` }, finish_reason: null }], usage));
const stopChunk = (usage: object) => chunk([{ index: 0, delta: {}, finish_reason: "stop" }], usage);
const withUsage = [...contentChunks({ usage: null }), stopChunk({ usage: null })];
const withoutUsage = [...contentChunks({}), stopChunk({})];
const usageChunk = chunk([], { usage: { prompt_tokens: 10, completion_tokens: STREAM_CHUNKS, total_tokens: 10 + STREAM_CHUNKS } });
const doneChunk = enc.encode("data: [DONE]\n\n");

const event = (type: string, body: object) => enc.encode(`event: ${type}\ndata: ${JSON.stringify({ type, ...body })}\n\n`);
const anthropicEvents = [
  event("message_start", { message: { id: "msg_bench", type: "message", role: "assistant", content: [], model: "claude-bench", stop_reason: null, stop_sequence: null, usage: { input_tokens: 10, output_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 } } }),
  event("content_block_start", { index: 0, content_block: { type: "text", text: "" } }),
  ...Array.from({ length: STREAM_CHUNKS }, (_, i) => event("content_block_delta", { index: 0, delta: { type: "text_delta", text: `tok${i + 1} ` } })),
  event("content_block_stop", { index: 0 }),
  event("message_delta", { delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: STREAM_CHUNKS } }),
  event("message_stop", {}),
];

/** One enqueue per pull, so chunks leave as the client reads them, with no timer in between. */
function sse(includeUsage: boolean, anthropic = false): ReadableStream<Uint8Array> {
  const pieces = anthropic ? anthropicEvents : includeUsage ? [...withUsage, usageChunk, doneChunk] : [...withoutUsage, doneChunk];
  let i = 0;
  return new ReadableStream<Uint8Array>({
    pull(ctrl) {
      ctrl.enqueue(pieces[i++]!);
      if (i === pieces.length) ctrl.close();
    },
  });
}

export async function startBenchUpstream() {
  const fast = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(req) {
      if (req.method !== "POST") return Response.json({ object: "list", data: [{ id: "gpt-bench", object: "model", created: 0, owned_by: "bench" }] });
      const body = (await req.json().catch(() => null)) as { stream?: boolean; stream_options?: { include_usage?: boolean } } | null;
      if (body?.stream === true) {
        const anthropic = new URL(req.url).pathname === "/v1/messages";
        return new Response(sse(body.stream_options?.include_usage === true, anthropic), { headers: { "content-type": "text/event-stream", "cache-control": "no-cache" } });
      }
      return new Response(completion, { headers: { "content-type": "application/json" } });
    },
  });
  const mock = await startMockUpstream("bench");
  // The mock records every request; the bench never reads them, so keep that list empty.
  const trim = setInterval(() => (mock.requests.length = 0), 200);
  return {
    fast: `http://127.0.0.1:${fast.port}`,
    mock: mock.url,
    stop: async () => {
      clearInterval(trim);
      await Promise.all([fast.stop(true), mock.stop()]);
    },
  };
}

if (import.meta.main) {
  const up = await startBenchUpstream();
  console.log(JSON.stringify({ fast: up.fast, mock: up.mock }));
  const stop = () => void up.stop().then(() => process.exit(0));
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
