import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { chat, post, relayWithMocks } from "../support/relay-fixture";

let f: Awaited<ReturnType<typeof relayWithMocks>>;
let key: string;
beforeAll(async () => {
  f = await relayWithMocks(1);
  await f.channel(f.mocks[0]!, { models: ["gpt-test", "text-embed"], modelMap: { near_qwen3_30b: "Qwen/Qwen3-30B-A3B" } });
  key = (await f.userWithKey("alice")).key;
});
afterAll(() => f.close());

const client = () => new OpenAI({ baseURL: `${f.h.url}/v1`, apiKey: key, maxRetries: 0 });

describe("OpenAI endpoints through the official client", () => {
  test("chat completion, non-stream", async () => {
    const r = await client().chat.completions.create({ model: "gpt-test", messages: [{ role: "user", content: "hello" }] });
    expect(r.choices[0]!.message.content).toBe("Hello from up1");
    expect(r.usage?.total_tokens).toBe(15);
  });

  test("chat completion, stream, with and without include_usage", async () => {
    let text = "";
    let usage: unknown = null;
    for await (const c of await client().chat.completions.create({ model: "gpt-test", messages: [{ role: "user", content: "x" }], stream: true })) {
      text += c.choices[0]?.delta?.content ?? "";
      if (c.usage) usage = c.usage;
    }
    expect(text).toBe("tok1 tok2 tok3 tok4 tok5 ");
    expect(usage).toBeNull(); // the relay asked for usage upstream and dropped that chunk again
    const upstream = f.mocks[0]!.requests.at(-1)!;
    expect(upstream.body.stream_options).toEqual({ include_usage: true });

    usage = null;
    for await (const c of await client().chat.completions.create({ model: "gpt-test", messages: [{ role: "user", content: "x" }], stream: true, stream_options: { include_usage: true } })) {
      if (c.usage) usage = c.usage;
    }
    expect(usage).toMatchObject({ completion_tokens: 5 });
  });

  test("completions and embeddings", async () => {
    const c = await client().completions.create({ model: "gpt-test", prompt: "say hi" });
    expect(c.choices[0]!.text.length).toBeGreaterThan(0);
    const e = await client().embeddings.create({ model: "text-embed", input: ["a", "b"] });
    expect(e.data.length).toBe(2);
  });

  test("stream_options.include_usage is added for chat and completions only, not for other endpoints", async () => {
    await (await post(f.h, key, "/v1/responses", { model: "gpt-test", input: "x", stream: true })).arrayBuffer();
    expect(f.mocks[0]!.requests.at(-1)!.body.stream_options).toBeUndefined();
    await (await post(f.h, key, "/v1/completions", { model: "gpt-test", prompt: "x", stream: true })).arrayBuffer();
    expect(f.mocks[0]!.requests.at(-1)!.body.stream_options).toEqual({ include_usage: true });
  });

  test("alias mapping: the upstream receives the mapped model id", async () => {
    await client().chat.completions.create({ model: "near_qwen3_30b", messages: [{ role: "user", content: "x" }] });
    expect(f.mocks[0]!.requests.at(-1)!.body.model).toBe("Qwen/Qwen3-30B-A3B");
  });

  test("a pass-through endpoint reaches the upstream with the same auth and is logged", async () => {
    const res = await post(f.h, key, "/v1/moderations", { model: "gpt-test", input: "text" });
    expect(res.status).toBe(200);
    const body = (await res.json()) as any;
    expect(body).toMatchObject({ object: "passthrough", path: "/v1/moderations" });
    const usage = (await f.h.admin.usage({ limit: 1 })).data[0]!;
    expect(usage).toMatchObject({ endpoint: "/v1/moderations", promptTokens: 3, status: 200 });
    expect((await post(f.h, "sk-app-nope", "/v1/moderations", { model: "gpt-test" })).status).toBe(401);
  });

  test("/v1/models without a key is the public catalog; with a key only what it may use", async () => {
    const pub = (await (await fetch(`${f.h.url}/v1/models`)).json()) as any;
    expect(pub.object).toBe("list");
    expect(pub.data.map((m: any) => m.id).sort()).toEqual(["gpt-test", "near_qwen3_30b", "text-embed"]);
    const limited = (await f.userWithKey("limited", {}, { models: ["gpt-test"] })).key;
    const mine = (await (await fetch(`${f.h.url}/v1/models`, { headers: { authorization: `Bearer ${limited}` } })).json()) as any;
    expect(mine.data.map((m: any) => m.id)).toEqual(["gpt-test"]);
    expect((await fetch(`${f.h.url}/v1/models/gpt-test`)).status).toBe(200);
    const hidden = await fetch(`${f.h.url}/v1/models/text-embed`, { headers: { authorization: `Bearer ${limited}` } });
    expect(hidden.status).toBe(404);
    expect(((await hidden.json()) as any).error.code).toBe("model_not_found");
    expect((await fetch(`${f.h.url}/v1/models`, { headers: { authorization: "Bearer bogus" } })).status).toBe(401);
  });

  test("the upstream never sees the client's Authorization or hop-by-hop headers", async () => {
    const res = await post(f.h, key, "/v1/chat/completions", chat("gpt-test"), {
      "proxy-authorization": "Basic abc", te: "trailers", "x-forwarded-for": "1.2.3.4", cookie: "session=1", "x-custom": "kept",
    });
    expect(res.status).toBe(200);
    const seen = f.mocks[0]!.requests.at(-1)!.headers;
    expect(seen.authorization).toBe("Bearer sk-upstream-up1");
    expect(JSON.stringify(seen)).not.toContain(key);
    for (const h of ["proxy-authorization", "te", "x-forwarded-for", "cookie", "keep-alive", "upgrade"]) expect(seen[h]).toBeUndefined();
    expect(seen["x-custom"]).toBe("kept");
  });
});

test("every answer carries an x-request-id: relayed, streamed, passed through, listed, refused", async () => {
  const answers = [
    await post(f.h, key, "/v1/chat/completions", chat("gpt-test")),
    await post(f.h, key, "/v1/chat/completions", { ...chat("gpt-test"), stream: true }),
    await post(f.h, key, "/v1/embeddings", { model: "text-embed", input: "x" }),
    await fetch(`${f.h.url}/v1/models`),
    await fetch(`${f.h.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } }),
    await fetch(`${f.h.url}/v1/me`, { headers: { authorization: `Bearer ${key}` } }),
    await fetch(`${f.h.url}/v1/openapi.json`),
    await fetch(`${f.h.url}/no/such/route`),
  ];
  const ids = new Set<string>();
  for (const res of answers) {
    expect(res.headers.get("x-request-id")).toMatch(/^req_/);
    ids.add(res.headers.get("x-request-id")!);
    await res.arrayBuffer();
  }
  expect(ids.size).toBe(answers.length);
});

describe("request checks", () => {
  const cases: [string, string | object, number, string][] = [
    ["broken JSON", "{nope", 400, "invalid_request"],
    ["not an object", "[1,2]", 400, "invalid_request"],
    ["missing model", { messages: [] }, 400, "invalid_request"],
    ["model of the wrong type", { model: 42 }, 400, "invalid_request"],
    ["stream not a boolean", { model: "gpt-test", stream: "yes" }, 400, "invalid_request"],
    ["negative max_tokens", { model: "gpt-test", max_tokens: -1 }, 400, "invalid_request"],
    ["unknown model", { model: "no-such-model" }, 404, "model_not_found"],
  ];
  for (const [name, body, status, code] of cases) {
    test(name, async () => {
      const res = await post(f.h, key, "/v1/chat/completions", body);
      expect(res.status).toBe(status);
      expect(res.headers.get("x-request-id")).toBeTruthy();
      const e = ((await res.json()) as any).error;
      expect(e.code).toBe(code);
      expect(e.message.length).toBeGreaterThan(5);
    });
  }

  test("a body over the size limit is refused with a clear message", async () => {
    const small = await relayWithMocks(0, { RELAY_MAX_BODY_BYTES: "2048" });
    try {
      const { key: k } = await small.userWithKey("big");
      const res = await post(small.h, k, "/v1/chat/completions", { model: "gpt-test", messages: [{ role: "user", content: "x".repeat(5000) }] });
      expect(res.status).toBe(413);
      const e = ((await res.json()) as any).error;
      expect({ code: e.code, names: e.message.includes("2048") && e.message.includes("RELAY_MAX_BODY_BYTES") }).toEqual({ code: "payload_too_large", names: true });
    } finally {
      await small.close();
    }
  });
});
