import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { modelRewriter } from "../../server/relay/model-name";
import { chat, eventually, post, relayWithMocks } from "../support/relay-fixture";

/** A model alias (`--map alias=upstream`) never leaks the upstream id to clients; the usage row keeps both. */
const ALIAS = "vercel_claude_sonnet_4_6";
let f: Awaited<ReturnType<typeof relayWithMocks>>;
let key: string;
beforeAll(async () => {
  f = await relayWithMocks(1);
  await f.channel(f.mocks[0]!, { models: ["gpt-test"], modelMap: { [ALIAS]: "gpt-4o-mini" } });
  ({ key } = await f.userWithKey("alias"));
});
afterAll(() => f.close());

describe("model aliases", () => {
  test("a plain answer carries the alias; the upstream was asked for its own id", async () => {
    const res = await post(f.h, key, "/v1/chat/completions", chat(ALIAS));
    const text = await res.text();
    expect(JSON.parse(text).model).toBe(ALIAS);
    expect(text).not.toContain("gpt-4o-mini");
    expect(f.mocks[0]!.requests.at(-1)!.body.model).toBe("gpt-4o-mini");
  });

  test("every stream chunk carries the alias, also when the upstream answers with a dated snapshot id", async () => {
    for (const answerModel of [undefined, "gpt-4o-mini-2024-07-18"]) {
      const res = await post(f.h, key, "/v1/chat/completions", chat(ALIAS, { stream: true, stream_options: { include_usage: true } }),
        answerModel ? { "x-mock-behavior": JSON.stringify({ answerModel }) } : {});
      const text = await res.text();
      const chunks = text.split("\n\n").filter((e) => e.startsWith("data: {")).map((e) => JSON.parse(e.slice(6)));
      expect(chunks.length).toBeGreaterThan(5);
      for (const c of chunks) expect(c.model).toBe(ALIAS);
      expect(text).not.toContain("gpt-4o-mini");
      expect(text).toContain("[DONE]");
    }
  });

  test("the official client sees the alias in completions and embeddings", async () => {
    const client = new OpenAI({ baseURL: `${f.h.url}/v1`, apiKey: key });
    expect((await client.completions.create({ model: ALIAS, prompt: "hi" })).model).toBe(ALIAS);
    expect((await client.embeddings.create({ model: ALIAS, input: "hi" })).model).toBe(ALIAS);
    const stream = await client.chat.completions.create({ model: ALIAS, messages: [{ role: "user", content: "hi" }], stream: true });
    for await (const chunk of stream) expect(chunk.model).toBe(ALIAS);
  });

  test("the usage row keeps both names", async () => {
    await post(f.h, key, "/v1/chat/completions", chat(ALIAS)).then((r) => r.text());
    await eventually(async () => (await f.h.admin.usage({ limit: 1 })).data.length > 0, "usage row");
    const row = (await f.h.admin.usage({ limit: 1 })).data[0]!;
    expect(row).toMatchObject({ model: ALIAS, upstreamModel: "gpt-4o-mini" });
  });

  test("without an alias the upstream's answer is passed through byte for byte", async () => {
    const res = await post(f.h, key, "/v1/chat/completions", chat("gpt-test"), { "x-mock-behavior": JSON.stringify({ answerModel: "gpt-test-0613" }) });
    expect(((await res.json()) as any).model).toBe("gpt-test-0613");
  });
});

describe("the rewriter", () => {
  const r = modelRewriter("my-alias", "up")!;
  const enc = (s: string) => new TextEncoder().encode(s);
  const dec = (b: Uint8Array) => new TextDecoder().decode(b);
  test("rewrites every model key's value, compact or spaced, and nothing inside strings", () => {
    const input = '{"model":"up","x":{"model": "up-2024"},"content":"say \\"model\\":\\"up\\" please"}';
    const want = '{"model":"my-alias","x":{"model": "my-alias"},"content":"say \\"model\\":\\"up\\" please"}';
    expect(dec(r.bytes(enc(input)))).toBe(want);
    expect(r.text(input)).toBe(want);
  });
  test("escapes the alias as JSON and handles escaped upstream ids", () => {
    const q = modelRewriter('a"b', "up")!;
    expect(JSON.parse(dec(q.bytes(enc('{"model":"u\\"p"}')))).model).toBe('a"b');
    expect(JSON.parse(q.text('{"model":"u\\"p"}')).model).toBe('a"b');
    expect(modelRewriter("same", "same")).toBeNull();
  });
  test("a read with no model key is returned as it was, not copied", () => {
    const b = enc("data: [DONE]\n\n");
    expect(r.bytes(b)).toBe(b);
  });
});
