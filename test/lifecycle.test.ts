import { describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { existsSync, mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig, ConfigError } from "../server/config";
import { startRelay } from "./support/harness";
import { chat, post, relayWithMocks } from "./support/relay-fixture";

const root = join(import.meta.dir, "..");

describe("configuration", () => {
  test("a bad value names the variable", () => {
    expect(() => loadConfig({ RELAY_PORT: "not-a-port" })).toThrow(ConfigError);
    expect(() => loadConfig({ RELAY_PORT: "99999" })).toThrow(/RELAY_PORT/);
    expect(() => loadConfig({ RELAY_MASTER_KEY: "c2hvcnQ=" })).toThrow(/RELAY_MASTER_KEY/);
    expect(() => loadConfig({ RELAY_TRUSTED_PROXIES: "10.0.0.0/8,banana" })).toThrow(/RELAY_TRUSTED_PROXIES/);
    expect(() => loadConfig({ RELAY_LOG_LEVEL: "loud" })).toThrow(/RELAY_LOG_LEVEL/);
  });

  test("`relay serve` exits with status 2 on a bad value", () => {
    const r = Bun.spawnSync(["bun", join(root, "server/main.ts"), "serve"], { env: { ...process.env, RELAY_PORT: "abc" }, stderr: "pipe" });
    expect(r.exitCode).toBe(2);
    expect(r.stderr.toString()).toContain("RELAY_PORT");
  });
});

describe("data dir", () => {
  test("created with a 0600 master key and a 0600 admin socket", async () => {
    const h = await startRelay();
    try {
      expect(statSync(join(h.dataDir, "master.key")).mode & 0o777).toBe(0o600);
      expect(statSync(h.socketPath).mode & 0o777).toBe(0o600);
      expect(existsSync(join(h.dataDir, "relay.db"))).toBe(true);
    } finally {
      await h.close();
    }
  });

  test("a restart without the master key that encrypted the data fails closed", async () => {
    const dir = mkdtempSync(join(tmpdir(), "relay-mk-"));
    const env = { ...process.env, RELAY_DATA_DIR: dir, RELAY_PORT: "0", RELAY_LOG_LEVEL: "error" };
    const { startServer } = await import("../server/serve");
    const s = await startServer(loadConfig(env));
    await s.stop(100);
    Bun.spawnSync(["rm", join(dir, "master.key")]);
    await expect(startServer(loadConfig(env))).rejects.toThrow(/master key mk_/);
  });
});

describe("graceful shutdown", () => {
  test("queued usage rows are flushed before the database closes", async () => {
    const f = await relayWithMocks(1, { RELAY_FLUSH_INTERVAL_MS: "10000" });
    await f.channel(f.mocks[0]!);
    const { key } = await f.userWithKey("flush");
    expect((await post(f.h, key, "/v1/chat/completions", chat("gpt-test"))).status).toBe(200);
    expect(f.h.ctx.writer.pending).toBe(1);
    const dbPath = join(f.h.dataDir, "relay.db");
    await f.h.stop(1000);
    const db = new Database(dbPath, { readonly: true });
    expect(db.query("SELECT count(*) AS n FROM usage_log").get()).toEqual({ n: 1 });
    db.close();
    for (const m of f.mocks) await m.stop();
  });

  test("in-flight requests finish before the server stops", async () => {
    const f = await relayWithMocks(1);
    f.mocks[0]!.set({ behavior: "slow", delayMs: 300 });
    await f.channel(f.mocks[0]!);
    const { key } = await f.userWithKey("drain");
    const pending = post(f.h, key, "/v1/chat/completions", chat("gpt-test"));
    await Bun.sleep(50);
    const stopping = f.h.stop(5000);
    const res = await pending;
    expect(res.status).toBe(200);
    await stopping;
    for (const m of f.mocks) await m.stop();
  });
});

describe("one relay per port", () => {
  test("a second `relay serve` on a port in use exits 1 naming the address; the first keeps every call", async () => {
    const { spawnRelay, tempDataDir } = await import("./support/limits-helpers");
    const first = await spawnRelay(tempDataDir());
    try {
      const port = new URL(first.url).port;
      await first.admin.users.create({ name: "only" });
      const { key } = await first.admin.keys.create({ user: "only", label: "k" });
      const second = Bun.spawn(["bun", join(root, "server/main.ts"), "serve"], {
        env: { ...process.env, RELAY_DATA_DIR: tempDataDir(), RELAY_PORT: port, RELAY_LOG_LEVEL: "silent" },
        stdout: "ignore",
        stderr: "pipe",
      });
      const killer = setTimeout(() => second.kill(), 10_000); // without the fix it would serve, not exit
      expect(await second.exited).toBe(1);
      clearTimeout(killer);
      expect(await new Response(second.stderr).text()).toContain(`127.0.0.1:${port} is already in use`);
      // With SO_REUSEPORT, about half of these would have reached the second relay's database and answered 401.
      for (let i = 0; i < 10; i++) {
        const res = await fetch(`${first.url}/v1/me`, { headers: { authorization: `Bearer ${key}` } });
        expect(res.status).toBe(200);
      }
    } finally {
      await first.stop();
    }
  });
});
