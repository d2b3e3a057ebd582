import { afterAll, beforeAll, beforeEach, describe, expect, test } from "bun:test";
import Anthropic from "@anthropic-ai/sdk";
import { startMockAnthropic, type MockAnthropic } from "./support/mock-anthropic";

let mock: MockAnthropic;
let client: Anthropic;

beforeAll(async () => {
  mock = await startMockAnthropic("claude");
  client = new Anthropic({ baseURL: mock.url, apiKey: "sk-ant-test", maxRetries: 0 });
});
afterAll(() => mock.stop());
beforeEach(() => mock.reset());

const hi = { model: "claude-sonnet-5-5", max_tokens: 100, messages: [{ role: "user" as const, content: "hi" }] };
const auth = { "content-type": "application/json", "x-api-key": "sk-ant-raw", "anthropic-version": "2023-06-01" };
const post = (path: string, body: unknown, headers: Record<string, string | undefined> = {}, signal?: AbortSignal) =>
  fetch(`${mock.url}/v1${path}`, {
    method: "POST",
    headers: Object.fromEntries(Object.entries({ ...auth, ...headers }).filter(([, v]) => v !== undefined)) as Record<string, string>,
    body: JSON.stringify(body),
    signal,
  });

/** Reads an SSE body into [event name, parsed data] pairs. */
async function sse(res: Response): Promise<[string, any][]> {
  const frames = (await res.text()).split("\n\n").filter(Boolean);
  return frames.map((f) => {
    const [, event, data] = /^event: (\S+)\ndata: (.*)$/s.exec(f)!;
    return [event!, JSON.parse(data!)];
  });
}

async function expectEnvelope(res: Response, status: number, type: string, message?: string) {
  expect(res.status).toBe(status);
  const body = await res.json();
  expect(body).toMatchObject({ type: "error", error: { type } });
  if (message) expect(body.error.message).toBe(message);
}

async function until(check: () => boolean, ms = 1000) {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await Bun.sleep(5);
}

describe("messages through the official client", () => {
  test("text: id, model, content, usage; the request is recorded with its headers and key", async () => {
    const msg = await client.messages.create(hi);
    expect(msg).toMatchObject({ id: expect.stringMatching(/^msg_mock_\d+$/), type: "message", role: "assistant", model: "claude-sonnet-5-5", stop_reason: "end_turn", stop_sequence: null });
    expect(msg.content).toEqual([{ type: "text", text: "Hello from claude" } as any]);
    expect(msg.usage).toEqual({ input_tokens: 10, output_tokens: 5, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 } as any);
    const r = mock.requests[0]!;
    expect(r).toMatchObject({ method: "POST", path: "/v1/messages", query: "", apiKey: "sk-ant-test" });
    // SDK 1.x sends the key as Bearer and its own API version.
    expect(r.headers.authorization).toBe("Bearer sk-ant-test");
    expect(r.headers["anthropic-version"]).toBe("2026-10-21");
    expect(r.body).toMatchObject({ model: "claude-sonnet-5-5", max_tokens: 100 });
    expect(mock.inFlight).toBe(0);
  });

  test("tool use and thinking: thinking, text, tool_use blocks and stop_reason tool_use", async () => {
    mock.set({ thinking: "let me see", toolUse: { name: "get_weather", input: { city: "Oslo" } }, content: "Checking." });
    const msg = await client.messages.create(hi);
    expect(msg.content).toEqual([
      { type: "thinking", thinking: "let me see", signature: "sig" },
      { type: "text", text: "Checking." },
      { type: "tool_use", id: msg.id.replace("msg_", "toolu_"), name: "get_weather", input: { city: "Oslo" } },
    ] as any);
    expect(msg.stop_reason).toBe("tool_use");
  });

  test("max_tokens caps output (stop_reason max_tokens) unless ignoreMaxTokens; cache tokens reported", async () => {
    mock.set({ completionTokens: 50, promptTokens: 7, cacheReadTokens: 3, cacheWriteTokens: 2 });
    const capped = await client.messages.create({ ...hi, max_tokens: 20 });
    expect(capped.stop_reason).toBe("max_tokens");
    expect(capped.usage).toMatchObject({ input_tokens: 7, output_tokens: 20, cache_read_input_tokens: 3, cache_creation_input_tokens: 2 });
    const ignored = await client.messages.create({ ...hi, max_tokens: 20 }, { headers: { "x-mock-behavior": '{"ignoreMaxTokens":true}' } });
    expect(ignored.usage.output_tokens).toBe(50);
    expect(ignored.stop_reason).toBe("end_turn");
  });

  test("beta calls record anthropic-beta", async () => {
    await client.beta.messages.create({ ...hi, betas: ["context-management-2025-06-27"] });
    expect(mock.requests[0]!).toMatchObject({ path: "/v1/messages", query: "" });
    expect(mock.requests[0]!.headers["anthropic-beta"]).toBe("context-management-2025-06-27");
  });

  test("countTokens and models.list", async () => {
    expect(await client.messages.countTokens({ model: "claude-sonnet-5-5", messages: hi.messages })).toEqual({ input_tokens: 10 } as any);
    mock.set({ promptTokens: 42 });
    expect((await client.messages.countTokens({ model: "m", messages: hi.messages })).input_tokens).toBe(42);
    const page = await client.models.list({ limit: 20 });
    expect(mock.requests.at(-1)).toMatchObject({ method: "GET", path: "/v1/models", query: "?limit=20" });
    expect(page.data.length).toBe(3);
    expect(page.data[0]).toMatchObject({ type: "model", id: expect.stringMatching(/^claude-/), display_name: expect.any(String) });
    expect(new Date(page.data[0]!.created_at).getTime()).toBeGreaterThan(0);
    const raw = await (await fetch(`${mock.url}/v1/models`, { headers: auth })).json();
    expect(raw).toMatchObject({ has_more: false, first_id: page.data[0]!.id, last_id: page.data[2]!.id });
  });
});

describe("stream", () => {
  test("finalMessage: the text of every delta and the cumulative output_tokens", async () => {
    mock.set({ promptTokens: 12, cacheReadTokens: 4 });
    const msg = await client.messages.stream(hi).finalMessage();
    expect(msg.content).toEqual([{ type: "text", text: "tok1 tok2 tok3 tok4 tok5 " } as any]);
    expect(msg.stop_reason).toBe("end_turn");
    // message_start says 1, message_delta the total: the total is what counts, not their sum.
    expect(msg.usage).toMatchObject({ input_tokens: 12, output_tokens: 5, cache_read_input_tokens: 4, cache_creation_input_tokens: 0 });
    expect(mock.inFlight).toBe(0);
  });

  test("thinking, text and a tool_use whose input arrives as JSON pieces", async () => {
    mock.set({ thinking: "hmm", toolUse: { name: "lookup", input: { q: "bun", n: 3 } }, chunks: 2, completionTokens: 9 });
    const msg = await client.messages.stream(hi).finalMessage();
    // toMatchObject: the SDK adds bookkeeping fields of its own (parsed_output, a JSON buffer).
    expect(msg.content).toMatchObject([
      { type: "thinking", thinking: "hmm", signature: "sig" },
      { type: "text", text: "tok1 tok2 " },
      { type: "tool_use", id: msg.id.replace("msg_", "toolu_"), name: "lookup", input: { q: "bun", n: 3 } },
    ]);
    expect(msg.stop_reason).toBe("tool_use");
    expect(msg.usage.output_tokens).toBe(9);
  });

  test("raw framing: event names match data types, in Anthropic's order", async () => {
    mock.set({ chunks: 2, toolUse: { name: "t", input: { a: "xyz" } } });
    const res = await post("/messages", { ...hi, stream: true });
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const events = await sse(res);
    for (const [name, data] of events) expect(data.type).toBe(name);
    expect(events.map(([e]) => e)).toEqual([
      "message_start", "ping",
      "content_block_start", "content_block_delta", "content_block_delta", "content_block_stop",
      "content_block_start", "content_block_delta", "content_block_delta", "content_block_delta", "content_block_stop",
      "message_delta", "message_stop",
    ]);
    expect(events[0]![1].message.usage).toEqual({ input_tokens: 10, output_tokens: 1, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 });
    expect(events[2]![1]).toEqual({ type: "content_block_start", index: 0, content_block: { type: "text", text: "" } });
    expect(events[3]![1].delta).toEqual({ type: "text_delta", text: "tok1 " });
    const pieces = events.filter(([, d]) => d.delta?.type === "input_json_delta").map(([, d]) => d.delta.partial_json);
    expect(pieces.join("")).toBe('{"a":"xyz"}');
    expect(events[11]![1]).toEqual({ type: "message_delta", delta: { stop_reason: "tool_use", stop_sequence: null }, usage: { output_tokens: 2 } });
  });

  test("drip sends one event every delayMs", async () => {
    mock.set({ behavior: "drip", delayMs: 30, chunks: 1 });
    const res = await post("/messages", { ...hi, stream: true });
    const reader = res.body!.getReader();
    const times: number[] = [];
    let text = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
      times.push(performance.now());
    }
    // message_start, ping, block start, 1 delta, block stop, message_delta, message_stop
    expect(times.length).toBe(7);
    expect(times.at(-1)! - times[0]!).toBeGreaterThanOrEqual(6 * 30 - 15);
    expect(text.endsWith('event: message_stop\ndata: {"type":"message_stop"}\n\n')).toBe(true);
  });

  test("disconnect cuts after the text deltas, without message_stop; the SDK stream fails", async () => {
    mock.set({ behavior: "disconnect", chunks: 2 });
    const res = await post("/messages", { ...hi, stream: true });
    const reader = res.body!.getReader();
    let text = "";
    const err = await (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return null;
        text += new TextDecoder().decode(value);
      }
    })().catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    expect(text).toContain('"text":"tok2 "');
    expect(text).not.toContain("content_block_stop");
    expect(text).not.toContain("message_stop");
    expect(await client.messages.stream(hi).finalMessage().catch((e) => e)).toBeInstanceOf(Error);
    expect(mock.inFlight).toBe(0);
  });
});

describe("errors through the official client", () => {
  const cases: [number, string, any][] = [
    [400, "invalid_request_error", Anthropic.BadRequestError],
    [401, "authentication_error", Anthropic.AuthenticationError],
    [403, "permission_error", Anthropic.PermissionDeniedError],
    [404, "not_found_error", Anthropic.NotFoundError],
    [413, "request_too_large", Anthropic.ContentTooLargeError],
    [429, "rate_limit_error", Anthropic.RateLimitError],
    [500, "api_error", Anthropic.InternalServerError],
    [529, "overloaded_error", Anthropic.InternalServerError],
  ];
  for (const [status, type, cls] of cases) {
    test(`${status} is ${type}`, async () => {
      mock.set({ behavior: "status", status });
      const err = await client.messages.create(hi).catch((e) => e);
      expect(err).toBeInstanceOf(cls);
      expect(err.status).toBe(status);
      expect(err.type).toBe(type);
      expect(err.requestID).toMatch(/^req_mock_\d+$/);
    });
  }

  test("429 with retry-after; 529 is the SDK's OverloadedError", async () => {
    mock.queue({ behavior: "status", status: 429, retryAfter: 7 }, { behavior: "status", status: 529 });
    const limited = await client.messages.create(hi).catch((e) => e);
    expect(limited).toBeInstanceOf(Anthropic.RateLimitError);
    expect(limited.headers.get("retry-after")).toBe("7");
    expect(await client.messages.create(hi).catch((e) => e)).toBeInstanceOf(Anthropic.OverloadedError);
  });

  test("no key: AuthenticationError; with requireXApiKey the SDK's Bearer key is refused too", async () => {
    // A null header drops the one the SDK would build from apiKey (and keeps it from looking for credentials elsewhere).
    const keyless = new Anthropic({ baseURL: mock.url, apiKey: "unsent", defaultHeaders: { authorization: null }, maxRetries: 0 });
    expect(await keyless.messages.create(hi).catch((e) => e)).toBeInstanceOf(Anthropic.AuthenticationError);
    mock.set({ requireXApiKey: true });
    const err = await client.messages.create(hi).catch((e) => e);
    expect(err).toBeInstanceOf(Anthropic.AuthenticationError);
    expect(err.apiMessage).toBe("x-api-key header is required");
    const xApiKey = new Anthropic({ baseURL: mock.url, apiKey: "unsent", defaultHeaders: { authorization: null, "x-api-key": "sk-ant-x" }, maxRetries: 0 });
    expect((await xApiKey.messages.create(hi)).type).toBe("message");
    expect(mock.requests.at(-1)!.apiKey).toBe("sk-ant-x");
  });
});

describe("what the real API checks, over raw fetch", () => {
  test("no x-api-key (and no Bearer): 401 authentication_error", async () => {
    await expectEnvelope(await post("/messages", hi, { "x-api-key": undefined }), 401, "authentication_error");
    await expectEnvelope(await post("/messages", hi, { "x-api-key": undefined, authorization: "Basic abc" }), 401, "authentication_error");
    const bearer = await post("/messages", hi, { "x-api-key": undefined, authorization: "Bearer sk-ant-b" });
    expect(bearer.status).toBe(200);
    expect(mock.requests.map((r) => r.apiKey)).toEqual([null, null, "sk-ant-b"]);
  });

  test("no anthropic-version: 400 invalid_request_error", async () => {
    await expectEnvelope(await post("/messages", hi, { "anthropic-version": undefined }), 400, "invalid_request_error", "anthropic-version header is required");
  });

  test("no max_tokens, or a body that is not JSON: 400 invalid_request_error", async () => {
    await expectEnvelope(await post("/messages", { model: "m", messages: [] }), 400, "invalid_request_error", "max_tokens: Field required");
    await expectEnvelope(await fetch(`${mock.url}/v1/messages`, { method: "POST", headers: auth, body: "nope" }), 400, "invalid_request_error");
  });

  test("temperature is refused on API version 2026-10-21 only", async () => {
    await expectEnvelope(await post("/messages", { ...hi, temperature: 1 }, { "anthropic-version": "2026-10-21" }), 400, "invalid_request_error");
    expect((await post("/messages", { ...hi, top_p: 0.9 })).status).toBe(200);
  });

  test("unknown route or method: 404 not_found_error, with a request id", async () => {
    const res = await post("/complete", { prompt: "x" });
    const id = res.headers.get("request-id");
    expect(id).toMatch(/^req_mock_\d+$/);
    expect((await res.clone().json()).request_id).toBe(id);
    await expectEnvelope(res, 404, "not_found_error");
    await expectEnvelope(await fetch(`${mock.url}/v1/messages`, { headers: auth }), 404, "not_found_error");
  });

  test("checks come before behaviours: a bad request is refused even when the mock would hang", async () => {
    mock.set({ behavior: "hang" });
    await expectEnvelope(await post("/messages", hi, { "anthropic-version": undefined }), 400, "invalid_request_error");
    expect(mock.inFlight).toBe(0);
  });
});

describe("behaviours and control", () => {
  test("hang never answers; aborting counts as aborted", async () => {
    mock.set({ behavior: "hang" });
    const ctl = new AbortController();
    setTimeout(() => ctl.abort(), 50);
    const err = await post("/messages", hi, {}, ctl.signal).catch((e) => e);
    expect(err.name).toBe("AbortError");
    await until(() => mock.aborted === 1);
    expect(mock.inFlight).toBe(0);
  });

  test("disconnect on a non-stream request: the SDK sees a connection error", async () => {
    mock.set({ behavior: "disconnect" });
    expect(await client.messages.create(hi).catch((e) => e)).toBeInstanceOf(Anthropic.APIConnectionError);
  });

  test("drip on a non-stream request: the JSON arrives in pieces and still parses", async () => {
    mock.set({ behavior: "drip", delayMs: 10, chunks: 4 });
    expect((await client.messages.create(hi)).content).toEqual([{ type: "text", text: "Hello from claude" } as any]);
  });

  test("slow: parallel requests are all in flight at once", async () => {
    mock.set({ behavior: "slow", delayMs: 80 });
    const started = performance.now();
    await Promise.all(Array.from({ length: 4 }, () => client.messages.create(hi)));
    expect(performance.now() - started).toBeGreaterThanOrEqual(75);
    expect(mock.maxInFlight).toBe(4);
    expect(mock.inFlight).toBe(0);
  });

  test("queue is consumed in order, merged over the default; the header wins without consuming", async () => {
    mock.set({ content: "base" });
    mock.queue({ behavior: "status", status: 529 }, { content: "second" });
    expect((await post("/messages", hi, { "x-mock-behavior": '{"behavior":"status","status":401}' })).status).toBe(401);
    expect((await post("/messages", hi)).status).toBe(529);
    expect((await (await post("/messages", hi)).json()).content[0].text).toBe("second");
    expect((await (await post("/messages", hi)).json()).content[0].text).toBe("base");
    await expectEnvelope(await post("/messages", hi, { "x-mock-behavior": "{nope" }), 400, "invalid_request_error");
  });

  test("answerModel, and two mocks told apart by name", async () => {
    const other = await startMockAnthropic("second", { answerModel: "claude-haiku-5-5" });
    try {
      const res = await fetch(`${other.url}/v1/messages`, { method: "POST", headers: auth, body: JSON.stringify(hi) });
      expect(res.headers.get("x-mock-upstream")).toBe("second");
      expect(await res.json()).toMatchObject({ model: "claude-haiku-5-5", content: [{ text: "Hello from second" }] });
      expect(mock.requests).toHaveLength(0);
    } finally {
      await other.stop();
    }
  });
});
