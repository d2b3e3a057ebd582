import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import OpenAI from "openai";
import { loadConfig, ConfigError } from "../server/config";
import { startRelay } from "./support/harness";
import { startMockUpstream } from "./support/mock-upstream";

/** Key formats, write-once keys and extra API prefixes, each end to end through a real server and the openai client. */
async function rig(env: Record<string, string>) {
  const up = await startMockUpstream("kf");
  const h = await startRelay(env);
  await h.admin.channels.create({ name: "c", group: "official", baseUrl: `${up.url}/v1`, apiKey: "sk-up", models: ["gpt-test"] });
  await h.admin.users.create({ name: "alice", credits: 100 });
  return { h, up, close: async () => { await h.close(); await up.stop(); } };
}

describe("RELAY_KEY_FORMAT", () => {
  for (const [format, shape] of [
    ["oruel_{hex:48}", /^oruel_[0-9a-f]{48}$/],
    ["vl_{base62:40}", /^vl_[0-9A-Za-z]{40}$/],
    ["sk-{base62:48}", /^sk-[0-9A-Za-z]{48}$/],
    ["sk-ollm-{base62:32}", /^sk-ollm-[0-9A-Za-z]{32}$/],
  ] as const) {
    test(`${format}: issued keys have its shape, work with the openai client, and show a prefix derived from the key`, async () => {
      const r = await rig({ RELAY_KEY_FORMAT: format });
      try {
        const k = await r.h.admin.keys.create({ user: "alice", label: "f" });
        expect(k.key).toMatch(shape);
        expect(k.key.startsWith(k.prefix)).toBe(true);
        const client = new OpenAI({ baseURL: `${r.h.url}/v1`, apiKey: k.key, maxRetries: 0 });
        const c = await client.chat.completions.create({ model: "gpt-test", messages: [{ role: "user", content: "hi" }] });
        expect(c.choices[0]!.message.content).toContain("Hello");
        expect((await r.h.admin.usage({ limit: 1 })).data[0]!.keyPrefix).toBe(k.prefix);
        // A wrong key of the same shape is the usual 401.
        const wrong = k.key.slice(0, -3) + (k.key.endsWith("aaa") ? "bbb" : "aaa");
        expect((await fetch(`${r.h.url}/v1/me`, { headers: { authorization: `Bearer ${wrong}` } })).status).toBe(401);
      } finally {
        await r.close();
      }
    });
  }

  test("keys issued under an earlier format keep working after the format changes", async () => {
    const dir = (await import("node:fs")).mkdtempSync(join((await import("node:os")).tmpdir(), "relay-kf-"));
    const { startServer } = await import("../server/serve");
    const first = await startServer(loadConfig({ RELAY_DATA_DIR: dir, RELAY_PORT: "0", RELAY_LOG_LEVEL: "silent" }));
    const { AdminClient } = await import("../tui/client");
    let admin = new AdminClient(first.socketPath);
    await admin.users.create({ name: "bob" });
    const old = (await admin.keys.create({ user: "bob", label: "old" })).key as string;
    await first.stop(500);
    const second = await startServer(loadConfig({ RELAY_DATA_DIR: dir, RELAY_PORT: "0", RELAY_LOG_LEVEL: "silent", RELAY_KEY_FORMAT: "vl_{base62:40}" }));
    admin = new AdminClient(second.socketPath);
    const fresh = (await admin.keys.create({ user: "bob", label: "new" })).key as string;
    expect(fresh).toMatch(/^vl_/);
    for (const key of [old, fresh]) expect((await fetch(`${second.url}/v1/me`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
    await second.stop(500);
  });

  test("a format with under 128 random bits stops the start with exit 2", () => {
    expect(() => loadConfig({ RELAY_KEY_FORMAT: "sk-{hex:16}" })).toThrow(ConfigError);
    const r = Bun.spawnSync(["bun", join(import.meta.dir, "../server/main.ts"), "serve"], { env: { ...process.env, RELAY_KEY_FORMAT: "sk-{hex:16}", RELAY_PORT: "0" }, stderr: "pipe" });
    expect(r.exitCode).toBe(2);
    expect(r.stderr.toString()).toContain("RELAY_KEY_FORMAT");
    expect(r.stderr.toString()).toContain("at least 128");
  });
});

describe("write-once keys", () => {
  test("RELAY_KEY_REVEAL=never: no ciphertext is stored at all, and reveal answers 403 reveal_disabled", async () => {
    const r = await rig({ RELAY_KEY_REVEAL: "never" });
    try {
      const k = await r.h.admin.keys.create({ user: "alice", label: "once" });
      expect(k.revealable).toBe(false);
      expect((await fetch(`${r.h.url}/v1/me`, { headers: { authorization: `Bearer ${k.key}` } })).status).toBe(200);
      const err = await r.h.admin.keys.reveal(k.id).catch((e) => e);
      expect(err).toMatchObject({ status: 403, code: "reveal_disabled" });
      r.h.ctx.writer.flush();
      r.h.ctx.db!.$client.run("PRAGMA wal_checkpoint(TRUNCATE)");
      const file = readFileSync(join(r.h.dataDir, "relay.db"));
      expect(file.includes(Buffer.from(k.key))).toBe(false);
      expect(r.h.ctx.db!.$client.query("SELECT count(*) AS n FROM api_keys WHERE ciphertext IS NOT NULL").get()).toEqual({ n: 0 });
    } finally {
      await r.close();
    }
  });

  test("an org set to never makes its keys write-once while personal keys stay revealable", async () => {
    const r = await rig({});
    try {
      await r.h.admin.orgs.create({ name: "secretive", keyReveal: "never", owner: "alice" });
      const orgKey = await r.h.admin.keys.create({ org: "secretive", service: true, label: "svc" });
      const personal = await r.h.admin.keys.create({ user: "alice", label: "mine" });
      expect(orgKey.revealable).toBe(false);
      expect(personal.revealable).toBe(true);
      expect((await r.h.admin.keys.reveal(personal.id)).key).toBe(personal.key);
      expect(await r.h.admin.keys.reveal(orgKey.id).catch((e) => e.code)).toBe("reveal_disabled");
    } finally {
      await r.close();
    }
  });
});

describe("RELAY_API_PREFIXES", () => {
  test("the OpenAI API is served under an extra prefix too, metered as the /v1 route", async () => {
    const r = await rig({ RELAY_API_PREFIXES: "/v1/inference" });
    try {
      const k = await r.h.admin.keys.create({ user: "alice", label: "p" });
      const client = new OpenAI({ baseURL: `${r.h.url}/v1/inference`, apiKey: k.key, maxRetries: 0 });
      expect((await client.chat.completions.create({ model: "gpt-test", messages: [{ role: "user", content: "hi" }] })).model).toBe("gpt-test");
      expect((await client.models.list()).data.map((m) => m.id)).toContain("gpt-test");
      expect(r.up.requests.at(-1)!.path).toBe("/v1/chat/completions");
      expect((await r.h.admin.usage({ limit: 1 })).data[0]!.endpoint).toBe("/v1/chat/completions");
      const typo = await fetch(`${r.h.url}/v1/inference/chat/completion`, { method: "POST", headers: { authorization: `Bearer ${k.key}` } });
      expect(typo.status).toBe(404);
    } finally {
      await r.close();
    }
  });
});
