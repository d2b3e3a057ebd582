import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { startMockUpstream, type MockUpstream } from "./support/mock-upstream";

let mock: MockUpstream;
let client: OpenAI;

beforeAll(async () => {
  mock = await startMockUpstream("alpha");
  client = new OpenAI({ baseURL: `${mock.url}/v1`, apiKey: "sk-channel", maxRetries: 0 });
});
afterAll(() => mock.stop());
beforeEach(() => mock.reset());

const post = (path: string, body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal) =>
  fetch(`${mock.url}/v1${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body), signal });

/** Reads an SSE body into its `data:` payloads. */
async function sseData(res: Response): Promise<string[]> {
  const text = await res.text();
  return text.split("\n\n").filter(Boolean).map((e) => e.replace(/^data: /, ""));
}

async function until(check: () => boolean, ms = 1000) {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await Bun.sleep(5);
}

describe("normal", () => {
  test("chat completion through the openai client, recorded with lowercased headers", async () => {
    const res = await client.chat.completions.create({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] });
    expect(res.object).toBe("chat.completion");
    expect(res.model).toBe("gpt-4o-mini");
    expect(res.choices[0]!.message).toMatchObject({ role: "assistant", content: "Hello from alpha" });
    expect(res.choices[0]!.finish_reason).toBe("stop");
    expect(res.usage).toMatchObject({ prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 });
    expect(mock.requests).toHaveLength(1);
    const r = mock.requests[0]!;
    expect(r).toMatchObject({ method: "POST", path: "/v1/chat/completions" });
    expect(r.headers.authorization).toBe("Bearer sk-channel");
    expect(r.body.messages[0].content).toBe("hi");
    expect(mock.inFlight).toBe(0);
  });

  test("x-mock-upstream header, max_tokens cap, configurable content", async () => {
    const res = await post("/chat/completions", { model: "m", max_tokens: 2 }, { "x-mock-behavior": JSON.stringify({ content: "yo", promptTokens: 7 }) });
    expect(res.headers.get("x-mock-upstream")).toBe("alpha");
    const body = await res.json();
    expect(body.choices[0].message.content).toBe("yo");
    expect(body.usage).toEqual({ prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 });
  });

  test("completions, embeddings, models and passthrough", async () => {
    const c = await client.completions.create({ model: "gpt-3.5-turbo-instruct", prompt: "x" });
    expect(c.choices[0]!.text).toBe("Hello from alpha");
    const e = await client.embeddings.create({ model: "text-embedding-3-small", input: ["a", "b"] });
    expect(e.data.map((d) => d.index)).toEqual([0, 1]);
    expect(e.usage.prompt_tokens).toBe(10);
    const models = await client.models.list();
    expect(models.data.length).toBeGreaterThan(1);
    const p = await (await post("/moderations", { model: "omni-moderation-latest", input: "x" })).json();
    expect(p).toMatchObject({ object: "passthrough", path: "/v1/moderations", method: "POST", model: "omni-moderation-latest" });
  });
});

describe("stream", () => {
  test("openai client with include_usage: role first, tokN pieces, stop, usage", async () => {
    const stream = await client.chat.completions.create({
      model: "gpt-4o-mini",
      messages: [{ role: "user", content: "hi" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks).toHaveLength(7);
    expect(chunks[0]!.choices[0]!.delta).toEqual({ role: "assistant", content: "tok1 " });
    expect(chunks.slice(0, 5).map((c) => c.choices[0]!.delta.content).join("")).toBe("tok1 tok2 tok3 tok4 tok5 ");
    expect(chunks[5]!.choices[0]!.finish_reason).toBe("stop");
    expect(chunks[6]!.choices).toEqual([]);
    expect(chunks[6]!.usage).toEqual({ prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 });
    expect(mock.inFlight).toBe(0);
    expect(mock.aborted).toBe(0);
  });

  test("without include_usage (or with usageInStream false) there is no usage chunk", async () => {
    const plain = await sseData(await post("/chat/completions", { model: "m", stream: true }));
    expect(plain).toHaveLength(7);
    expect(plain.at(-1)).toBe("[DONE]");
    expect(plain.some((d) => d.includes('"usage"'))).toBe(false);
    mock.set({ usageInStream: false, chunks: 2 });
    const off = await sseData(await post("/chat/completions", { model: "m", stream: true, stream_options: { include_usage: true } }));
    expect(off).toHaveLength(4);
    expect(off.some((d) => d.includes('"usage"'))).toBe(false);
  });

  test("text completion stream", async () => {
    const res = await post("/completions", { model: "m", stream: true, stream_options: { include_usage: true } });
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const data = await sseData(res);
    expect(JSON.parse(data[0]!).choices[0].text).toBe("tok1 ");
    expect(JSON.parse(data[6]!).usage.completion_tokens).toBe(5);
  });

  test("drip spaces chunks by delayMs", async () => {
    mock.set({ behavior: "drip", delayMs: 40, chunks: 3 });
    const res = await post("/chat/completions", { model: "m", stream: true });
    const reader = res.body!.getReader();
    const times: number[] = [];
    const dec = new TextDecoder();
    let text = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += dec.decode(value);
      times.push(performance.now());
    }
    expect(text.endsWith("data: [DONE]\n\n")).toBe(true);
    expect(times.length).toBeGreaterThanOrEqual(4);
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(4 * 40 - 15);
  });
});

describe("failures", () => {
  test("status 429 with Retry-After and an OpenAI error body", async () => {
    mock.set({ behavior: "status", status: 429, retryAfter: 7 });
    const res = await post("/chat/completions", { model: "m" });
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("7");
    const body = await res.json();
    expect(body.error).toMatchObject({ type: "requests", code: "rate_limit_exceeded", param: null });
    expect(typeof body.error.message).toBe("string");
    const err = await client.chat.completions.create({ model: "m", messages: [] }).catch((e) => e);
    expect(err).toBeInstanceOf(OpenAI.RateLimitError);
  });

  test("hang never answers; aborting counts as aborted", async () => {
    mock.set({ behavior: "hang" });
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(), 100);
    const err = await post("/chat/completions", { model: "m" }, {}, ctl.signal).catch((e) => e);
    expect(err.name).toBe("AbortError");
    await until(() => mock.aborted === 1);
    expect(mock.aborted).toBe(1);
    expect(mock.inFlight).toBe(0);
  });

  test("client abort mid-drip stops the stream and counts as aborted", async () => {
    mock.set({ behavior: "drip", delayMs: 30, chunks: 50 });
    const ctl = new AbortController();
    const res = await post("/chat/completions", { model: "m", stream: true }, {}, ctl.signal);
    await res.body!.getReader().read();
    ctl.abort();
    await until(() => mock.inFlight === 0);
    expect(mock.aborted).toBe(1);
    expect(mock.inFlight).toBe(0);
  });

  test("disconnect mid-stream: chunks arrive, then the body read fails (no [DONE])", async () => {
    mock.set({ behavior: "disconnect", chunks: 2 });
    const res = await post("/chat/completions", { model: "m", stream: true });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const dec = new TextDecoder();
    let text = "";
    const err = await (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return null;
        text += dec.decode(value);
      }
    })().catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    expect(text).toContain("tok2 ");
    expect(text).not.toContain("[DONE]");
    expect(mock.inFlight).toBe(0);
  });

  test("disconnect on a non-stream request: fetch itself rejects", async () => {
    mock.set({ behavior: "disconnect" });
    const err = await post("/chat/completions", { model: "m" }).catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe("ECONNRESET");
    const viaClient = await client.chat.completions.create({ model: "m", messages: [] }).catch((e) => e);
    expect(viaClient).toBeInstanceOf(OpenAI.APIConnectionError);
  });
});

describe("control", () => {
  test("queue is consumed in order before the default; header wins without consuming", async () => {
    mock.queue({ behavior: "status", status: 503 }, { behavior: "status", status: 400 });
    const hdr = await post("/chat/completions", { model: "m" }, { "x-mock-behavior": '{"behavior":"status","status":401}' });
    expect(hdr.status).toBe(401);
    expect((await post("/chat/completions", { model: "m" })).status).toBe(503);
    expect((await post("/chat/completions", { model: "m" })).status).toBe(400);
    expect((await post("/chat/completions", { model: "m" })).status).toBe(200);
  });

  test("slow: 5 parallel requests are all in flight at once", async () => {
    mock.set({ behavior: "slow", delayMs: 100 });
    const started = performance.now();
    const all = await Promise.all(Array.from({ length: 5 }, () => post("/chat/completions", { model: "m" })));
    expect(all.every((r) => r.status === 200)).toBe(true);
    expect(performance.now() - started).toBeGreaterThanOrEqual(95);
    expect(mock.maxInFlight).toBe(5);
    expect(mock.inFlight).toBe(0);
  });

  test("two upstreams are told apart by name", async () => {
    const beta = await startMockUpstream("beta", { content: "b" });
    try {
      const res = await fetch(`${beta.url}/v1/chat/completions`, { method: "POST", body: "{}" });
      expect(res.headers.get("x-mock-upstream")).toBe("beta");
      expect((await res.json()).choices[0].message.content).toBe("b");
      expect(mock.requests).toHaveLength(0);
    } finally {
      await beta.stop();
    }
  });
});
