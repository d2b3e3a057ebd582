import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { startMockAnthropic, type MockAnthropic } from "../support/mock-anthropic";
import { expectError } from "../support/expect-error";
import { chat, post, relayWithMocks } from "../support/relay-fixture";

/** Channel types: how each upstream is reached (URL, credentials), and the key accepted in x-api-key too. */
const root = join(import.meta.dir, "..", "..");
let f: Awaited<ReturnType<typeof relayWithMocks>>;
let anthropic: MockAnthropic;
beforeAll(async () => {
  f = await relayWithMocks(1);
  anthropic = await startMockAnthropic("claude", { requireXApiKey: true });
});
afterAll(async () => {
  await f.close();
  await anthropic.stop();
});

function cli(...args: string[]) {
  return Bun.spawn(["bun", join(root, "server/main.ts"), "admin", ...args], {
    env: { ...process.env, RELAY_ADMIN_SOCKET: f.h.socketPath, RELAY_DATA_DIR: f.h.dataDir }, stdout: "pipe", stderr: "pipe",
  });
}

describe("channel types", () => {
  test("azure: deployment URL with api-version, the key in api-key, never a Bearer", async () => {
    await f.h.admin.channels.create({
      name: "az", type: "azure", apiVersion: "2024-10-21", group: "official", baseUrl: f.mocks[0]!.url, apiKey: "azure-secret",
      models: ["gpt-az"], modelMap: { "gpt-az-alias": "my-deployment" },
    });
    const { key } = await f.userWithKey("azure-user");
    for (const [model, deployment] of [["gpt-az", "gpt-az"], ["gpt-az-alias", "my-deployment"]]) {
      const res = await post(f.h, key, "/v1/chat/completions", chat(model!));
      expect(res.status).toBe(200);
      const seen = f.mocks[0]!.requests.at(-1)!;
      expect(seen.rawPath).toBe(`/openai/deployments/${deployment}/chat/completions`);
      expect(seen.query).toBe("?api-version=2024-10-21");
      expect(seen.headers["api-key"]).toBe("azure-secret");
      expect(seen.headers.authorization).toBeUndefined();
      expect(((await res.json()) as any).model).toBe(model);
    }
    const emb = await post(f.h, key, "/v1/embeddings", { model: "gpt-az", input: "x" });
    expect(emb.status).toBe(200);
    expect(f.mocks[0]!.requests.at(-1)!.rawPath).toBe("/openai/deployments/gpt-az/embeddings");
  });

  test("azure needs --api-version; the CLI says so and creates it with one", async () => {
    const bad = cli("channel", "create", "--name", "az2", "--type", "azure", "--base-url", f.mocks[0]!.url, "--api-key", "k", "--models", "m");
    expect(await bad.exited).toBe(1);
    expect(await new Response(bad.stderr).text()).toContain("apiVersion: is required for an azure channel");
    const ok = cli("channel", "create", "--name", "az2", "--type", "azure", "--api-version", "2024-10-21", "--base-url", f.mocks[0]!.url, "--api-key", "k", "--models", "m", "--json");
    expect(await ok.exited).toBe(0);
    const ch = JSON.parse(await new Response(ok.stdout).text());
    expect(ch).toMatchObject({ type: "azure", apiVersion: "2024-10-21" });
    const list = cli("channel", "list");
    expect(await list.exited).toBe(0);
    expect(await new Response(list.stdout).text()).toMatch(/az2\s+azure/);
  });

  test("channel test works for every type", async () => {
    const oa = await f.channel(f.mocks[0]!, { name: "plain-openai" });
    const an = await f.h.admin.channels.create({ name: "an", type: "anthropic", group: "official", baseUrl: anthropic.url, apiKey: "sk-ant-up", models: ["claude-x"] });
    const anV1 = await f.h.admin.channels.create({ name: "an-v1", type: "anthropic", group: "official", baseUrl: `${anthropic.url}/v1`, apiKey: "sk-ant-up", models: ["claude-y"] });
    const az = (await f.h.admin.channels.list()).data.find((c) => c.name === "az")!;
    for (const ch of [oa, an, anV1, az]) {
      const r = await f.h.admin.channels.test(ch.id);
      expect({ name: ch.name, ok: r.ok, error: r.error }).toEqual({ name: ch.name, ok: true, error: undefined });
    }
    const probe = anthropic.requests.at(-1)!;
    expect(probe.path).toBe("/v1/messages");
    expect(probe.headers["x-api-key"]).toBe("sk-ant-up");
    expect(probe.headers["anthropic-version"]).toBe("2023-06-01");
    expect(probe.headers.authorization).toBeUndefined();
    expect(probe.body.max_tokens).toBe(1);
  });

  test("an unknown type is refused with the list of types", async () => {
    const err = await f.h.admin.channels.create({ name: "bad", type: "gemini", group: "official", baseUrl: "http://x", apiKey: "k" }).catch((e) => e);
    expect(err).toMatchObject({ status: 400 });
    expect(err.message).toContain("anthropic");
  });
});

describe("the relay key in x-api-key", () => {
  test("works on every route; the same key in both headers is fine; two different keys are a 401", async () => {
    const a = await f.userWithKey("xkey");
    const b = await f.userWithKey("xkey2");
    expect((await fetch(`${f.h.url}/v1/me`, { headers: { "x-api-key": a.key } })).status).toBe(200);
    expect((await fetch(`${f.h.url}/v1/models`, { headers: { "x-api-key": a.key } })).status).toBe(200);
    expect((await post(f.h, "ignored", "/v1/chat/completions", chat("gpt-test"), { authorization: "", "x-api-key": a.key })).status).not.toBe(401);
    expect((await fetch(`${f.h.url}/v1/me`, { headers: { "x-api-key": a.key, authorization: `Bearer ${a.key}` } })).status).toBe(200);
    const two = await expectError(await fetch(`${f.h.url}/v1/me`, { headers: { "x-api-key": a.key, authorization: `Bearer ${b.key}` } }), 401, "invalid_api_key");
    expect(two.error.message).toContain("two different keys");
    // An unknown key in x-api-key answers exactly like one in Authorization.
    const viaHeader = await fetch(`${f.h.url}/v1/me`, { headers: { "x-api-key": "sk-app-AAAAAAAA_" + "a".repeat(48) } });
    const viaBearer = await fetch(`${f.h.url}/v1/me`, { headers: { authorization: `Bearer sk-app-AAAAAAAA_${"a".repeat(48)}` } });
    expect(await viaHeader.json()).toEqual(await viaBearer.json());
  });

  test("the client's x-api-key never reaches an upstream", async () => {
    await f.channel(f.mocks[0]!, { name: "xkey-ch", models: ["xk-model"] });
    const a = await f.userWithKey("xkey3");
    const res = await fetch(`${f.h.url}/v1/chat/completions`, { method: "POST", headers: { "x-api-key": a.key, "content-type": "application/json" }, body: JSON.stringify(chat("xk-model")) });
    expect(res.status).toBe(200);
    const seen = f.mocks[0]!.requests.at(-1)!;
    expect(seen.headers["x-api-key"]).toBeUndefined();
    expect(JSON.stringify(seen.headers)).not.toContain(a.key);
  });
});
