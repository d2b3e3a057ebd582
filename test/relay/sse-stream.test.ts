import { describe, expect, test } from "bun:test";
import { countTokens } from "gpt-tokenizer";
import { relaySse, type StreamResult } from "../../server/relay/stream/passthrough";
import { openAIStreamFraming } from "../../server/shapes/openai/stream-framing";
import { modelRewriter } from "../../server/relay/model-name";

const enc = new TextEncoder();
const ev = (obj: unknown) => `data: ${JSON.stringify(obj)}\n\n`;
const chunk = (content: string) => ev({ choices: [{ index: 0, delta: { content } }] });
const usageChunk = ev({ choices: [], usage: { prompt_tokens: 7, completion_tokens: 3, total_tokens: 10 } });

/** Runs relaySse over upstream bytes cut at the given byte offsets; returns what the client got. */
async function pipe(text: string, cuts: number[], clientWantsUsage: boolean, rewrite: ReturnType<typeof modelRewriter> = null) {
  const bytes = enc.encode(text);
  const pieces: Uint8Array[] = [];
  let at = 0;
  for (const c of [...cuts, bytes.length]) {
    pieces.push(bytes.slice(at, c));
    at = c;
  }
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      for (const p of pieces) if (p.length) c.enqueue(p);
      c.close();
    },
  });
  let result: StreamResult | null = null;
  const out = await relaySse({ body, abort: new AbortController(), idleMs: 5000, framing: openAIStreamFraming, clientWantsUsage, rewrite, onClientAbort: () => {}, onEnd: (r) => (result = r) });
  const got = await new Response(out).text();
  return { got, result: result! };
}

describe("SSE relay", () => {
  const upstream = chunk("héllo ") + chunk("wörld ") + chunk("✓") + usageChunk + "data: [DONE]\n\n";
  const expected = upstream.replace(usageChunk, "");

  test("whatever the read boundaries (even inside a UTF-8 character), the client gets the events intact", async () => {
    const bytes = enc.encode(upstream);
    for (let cut = 1; cut < bytes.length; cut++) {
      for (const second of [cut + 1, cut + 7, bytes.length - 1]) {
        if (second <= cut || second >= bytes.length) continue;
        const { got, result } = await pipe(upstream, [cut, second], false);
        if (got !== expected) throw new Error(`cuts ${cut},${second}: got ${JSON.stringify(got)}`);
        expect(result.usage).toEqual({ input: 7, cacheRead: 0, cacheWrite: 0, output: 3 });
      }
    }
  });

  test("a model alias replaces the upstream's id in every event, whatever the read boundaries", async () => {
    const withModel = (content: string) => ev({ model: "gpt-up", choices: [{ index: 0, delta: { content } }] });
    const text = withModel("héllo ") + withModel("wörld") + usageChunk + "data: [DONE]\n\n";
    const want = text.replaceAll("gpt-up", "my-alias").replace(usageChunk, "");
    const bytes = enc.encode(text);
    for (let cut = 1; cut < bytes.length; cut += 3) {
      const { got } = await pipe(text, [cut], false, modelRewriter("my-alias", "gpt-up"));
      if (got !== want) throw new Error(`cut ${cut}: got ${JSON.stringify(got)}`);
    }
  });

  test("the usage chunk reaches a client that asked for it", async () => {
    const { got } = await pipe(upstream, [10, 40], true);
    expect(got).toBe(upstream);
  });

  test("without upstream usage, delivered tokens are counted", async () => {
    const noUsage = chunk("one ") + chunk("two ") + "data: [DONE]\n\n";
    const { got, result } = await pipe(noUsage, [5], false);
    expect(got).toBe(noUsage);
    expect(result.usage).toBeNull();
    expect(result.completionEstimate()).toBe(countTokens("one two "));
  });

  test("OpenAI's \"usage\": null in every chunk passes through untouched; only the chunk with numbers is taken", async () => {
    const nulls = ev({ choices: [{ index: 0, delta: { content: "a" } }], usage: null })
      + 'data: {"choices":[{"index":0,"delta":{"content":"b"}}],"usage" :  null}\n\n'
      + ev({ choices: [{ index: 0, delta: { content: "\"usage\": 5" } }], usage: null }) // the word in content is escaped
      + usageChunk + "data: [DONE]\n\n";
    for (const cuts of [[], [7], [nulls.length - 20]]) {
      const { got, result } = await pipe(nulls, cuts, false);
      expect(got).toBe(nulls.replace(usageChunk, ""));
      expect(result.usage).toEqual({ input: 7, cacheRead: 0, cacheWrite: 0, output: 3 });
    }
  });
  test("usage written with Python's spacing is found and dropped like the compact form", async () => {
    const spaced = 'data: {"choices": [], "usage": {"prompt_tokens": 4, "completion_tokens": 2}}\n\n';
    const text = chunk("x") + spaced + "data: [DONE]\n\n";
    const { got, result } = await pipe(text, [], false);
    expect(got).toBe(chunk("x") + "data: [DONE]\n\n");
    expect(result.usage).toEqual({ input: 4, cacheRead: 0, cacheWrite: 0, output: 2 });
  });

  test("usage spelled any other way is still counted at the end (the client gets that chunk as sent)", async () => {
    const odd = 'data: {"choices":[],"usage" :\t{"prompt_tokens":5,"completion_tokens":6}}\n\n';
    const text = chunk("x") + odd + "data: [DONE]\n\n";
    const { got, result } = await pipe(text, [], false);
    expect(got).toBe(text);
    expect(result.usage).toEqual({ input: 5, cacheRead: 0, cacheWrite: 0, output: 6 });
  });

  test("usage on a chunk that also has content: the chunk is kept, its usage (the last one) counts", async () => {
    const withContent = (n: number) => ev({ choices: [{ index: 0, delta: { content: "y" } }], usage: { prompt_tokens: 9, completion_tokens: n } });
    const text = withContent(1) + withContent(2) + "data: [DONE]\n\n";
    const { got, result } = await pipe(text, [], false);
    expect(got).toBe(text);
    expect(result.usage).toEqual({ input: 9, cacheRead: 0, cacheWrite: 0, output: 2 });
  });

  test("the client's stream ends at [DONE]; the request ends when the upstream does", async () => {
    let closeUpstream!: () => void;
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(enc.encode(chunk("a") + usageChunk + "data: [DONE]\n\n"));
        closeUpstream = () => c.close();
      },
    });
    let result: StreamResult | null = null;
    const out = await relaySse({ body, abort: new AbortController(), idleMs: 5000, framing: openAIStreamFraming, clientWantsUsage: false, onClientAbort: () => {}, onEnd: (r) => (result = r) });
    const got = await new Response(out).text(); // resolves although the upstream is still open
    expect(got).toBe(chunk("a") + "data: [DONE]\n\n");
    expect(result).toBeNull();
    closeUpstream();
    for (let i = 0; i < 100 && !result; i++) await Bun.sleep(5);
    expect(result!.end).toBe("done");
    expect(result!.usage).toEqual({ input: 7, cacheRead: 0, cacheWrite: 0, output: 3 });
  });

  test("an upstream that stalls after [DONE] ends the request as done, not as a timeout", async () => {
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(enc.encode(chunk("a") + usageChunk + "data: [DONE]\n\n")); // and never closes
      },
    });
    const abort = new AbortController();
    let result: StreamResult | null = null;
    const out = await relaySse({ body, abort, idleMs: 100, framing: openAIStreamFraming, clientWantsUsage: true, onClientAbort: () => {}, onEnd: (r) => (result = r) });
    expect(await new Response(out).text()).toBe(chunk("a") + usageChunk + "data: [DONE]\n\n");
    for (let i = 0; i < 100 && !result; i++) await Bun.sleep(10);
    expect(result!.end).toBe("done");
    expect(abort.signal.aborted).toBe(true); // the stalled upstream was let go
  });

  test("an upstream that stalls before its first event gets the timeout event, with the headers", async () => {
    const body = new ReadableStream<Uint8Array>({ start() {} }); // headers came, then nothing
    let result: StreamResult | null = null;
    const out = await relaySse({ body, abort: new AbortController(), idleMs: 100, framing: openAIStreamFraming, clientWantsUsage: false, onClientAbort: () => {}, onEnd: (r) => (result = r) });
    const got = await new Response(out).text();
    expect(got).toContain('"code":"upstream_timeout"');
    expect(result!.end).toBe("idle_timeout");
  });

  test("a Responses API stream: the usage inside response.completed counts, and the event stays", async () => {
    const completed = `event: response.completed\ndata: ${JSON.stringify({ type: "response.completed", response: { id: "resp_1", status: "completed", usage: { input_tokens: 11, output_tokens: 4, total_tokens: 15 } } })}\n\n`;
    const text = `event: response.output_text.delta\ndata: ${JSON.stringify({ type: "response.output_text.delta", delta: "hi" })}\n\n` + completed;
    for (const cuts of [[], [30]]) {
      const { got, result } = await pipe(text, cuts, false);
      expect(got).toBe(text);
      expect(result.usage).toEqual({ input: 11, cacheRead: 0, cacheWrite: 0, output: 4 });
    }
  });
});
