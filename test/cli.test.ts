import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { commands, runAdmin } from "../server/cli/admin";
import { bearer, startRelay, userWithKey, type Harness } from "./support/harness";
import { startMockUpstream, type MockUpstream } from "./support/mock-upstream";

/**
 * Every `relay admin` command with --json against a real server (in-process through runAdmin), its
 * exit codes (0 ok, 1 refused or unreachable, 2 bad usage) and --help at every level; a few through
 * the real `bun server/main.ts` process.
 */
let h: Harness;
let up: MockUpstream;
beforeAll(async () => {
  h = await startRelay();
  up = await startMockUpstream("cli");
});
afterAll(async () => {
  await up.stop();
  await h.close();
});

const nameOf = (c: { group: string; verb: string }) => [c.group, c.verb].filter(Boolean).join(" ");
const covered = new Set<string>();

async function cli(args: string[], socketPath = h.socketPath) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runAdmin(args, socketPath, (s) => out.push(s), (s) => err.push(s));
  return { code, out: out.join("\n"), err: err.join("\n") };
}

/** Runs a command with --json, expects exit 0, exactly one JSON value on stdout and nothing on stderr. */
async function json(...args: string[]): Promise<any> {
  const r = await cli([...args, "--json"]);
  if (r.code !== 0) throw new Error(`relay admin ${args.join(" ")} exited ${r.code}: ${r.err}`);
  expect(r.err).toBe("");
  expect(r.out.split("\n")).toHaveLength(1);
  const cmd = commands.find((c) => c.group === `${args[0]} ${args[1]}` && c.verb === args[2])
    ?? commands.find((c) => c.group === args[0] && c.verb === args[1]) ?? commands.find((c) => c.group === args[0] && c.verb === "");
  covered.add(nameOf(cmd!));
  return JSON.parse(r.out);
}

async function refused(args: string[], code: string) {
  const r = await cli([...args, "--json"]);
  expect(r.code).toBe(1);
  expect(r.out).toBe("");
  expect(r.err).toContain(`(${code})`);
  return r.err;
}

async function usage(args: string[], message: string | RegExp) {
  const r = await cli(args);
  expect(r.code).toBe(2);
  expect(r.out).toBe("");
  expect(r.err.split("\n")[0]).toMatch(message);
}

describe("users", () => {
  test("create, list, show, update, disable, enable", async () => {
    const u = await json("user", "create", "--name", "ann", "--concurrency", "4", "--monthly-tokens", "1000", "--credits", "50", "--role", "user");
    expect(u).toMatchObject({ name: "ann", concurrency: 4, monthlyTokens: 1000, balance: 50, role: "user", enabled: true });
    expect((await json("user", "list")).map((x: any) => x.name)).toContain("ann");
    expect(await json("user", "show", "ann")).toMatchObject({ name: "ann", heldCredits: 0, inFlight: 0, tokensThisMonth: 0 });
    expect(await json("user", "update", "ann", "--concurrency", "9", "--monthly-tokens", "0", "--role", "admin")).toMatchObject({ concurrency: 9, monthlyTokens: 0, role: "admin" });
    expect(await json("user", "disable", "ann")).toMatchObject({ enabled: false });
    expect(await json("user", "enable", "ann")).toMatchObject({ enabled: true });
  });

  test("refusals exit 1 with the server's code", async () => {
    await refused(["user", "show", "nobody"], "not_found");
    await refused(["user", "create", "--name", "ann"], "conflict");
    await refused(["user", "update", "ann", "--concurrency", "-1"], "invalid_request");
  });
});

describe("keys", () => {
  test("create, list, show, update, reveal, disable, enable, delete", async () => {
    await json("user", "create", "--name", "kim");
    const k = await json(
      "key", "create", "--user", "kim", "--label", "ci", "--group", "official", "--allow-ip", "10.0.0.0/8", "--allow-ip", "127.0.0.1",
      "--expires", "2099-01-01T00:00:00Z", "--models", "gpt-4o,gpt-4o-mini", "--spend-limit", "500", "--scopes", "inference,usage:read",
    );
    expect(k).toMatchObject({ label: "ci", group: "official", allowIps: ["10.0.0.0/8", "127.0.0.1"], models: ["gpt-4o", "gpt-4o-mini"], spendLimit: 500, scopes: ["inference", "usage:read"] });
    expect(k.key).toStartWith(k.prefix);
    const list = await json("key", "list", "--user", "kim");
    expect(list).toHaveLength(1);
    expect(JSON.stringify(list)).not.toContain(k.key);
    expect(await json("key", "show", String(k.id))).toMatchObject({ id: k.id, prefix: k.prefix });
    expect(await json("key", "update", String(k.id), "--label", "ci-2", "--expires", "never", "--spend-limit", "0")).toMatchObject({ label: "ci-2", expiresAt: null, spendLimit: 0 });
    expect(await json("key", "reveal", String(k.id))).toEqual({ id: k.id, key: k.key });
    const r = await json("key", "rotate", String(k.id), "--overlap", "1h");
    expect(r).toMatchObject({ label: "ci-2 (rotated)", scopes: ["inference", "usage:read"], rotatedFrom: { id: k.id } });
    expect(await json("key", "show", String(k.id))).toMatchObject({ status: "expiring", expiresAt: r.rotatedFrom.expiresAt });
    expect(await json("key", "delete", String(r.id))).toMatchObject({ id: r.id, deleted: true });
    await usage(["key", "rotate", String(k.id), "--overlap", "1y"], /30d/);
    expect(await json("key", "disable", String(k.id))).toMatchObject({ enabled: false });
    expect(await json("key", "enable", String(k.id))).toMatchObject({ enabled: true });
    expect(await json("key", "delete", String(k.id))).toMatchObject({ id: k.id, deleted: true });
    await refused(["key", "show", String(k.id)], "not_found");
  });

  test("create without --json prints the key in the field table, then the reminder", async () => {
    await json("user", "create", "--name", "tex");
    const r = await cli(["key", "create", "--user", "tex", "--label", "text"]);
    expect(r).toMatchObject({ code: 0, err: "" });
    const lines = r.out.split("\n");
    const id = lines.find((l) => l.startsWith("id "))!.split(/\s+/)[1]!;
    const { key } = await json("key", "reveal", id);
    expect(lines.at(-2)).toMatch(new RegExp(`^key\\s+${key}$`));
    expect(lines.at(-1)).toBe(`(store it now: it is shown once; admins can reveal it again with \`relay admin key reveal ${id}\`)`);
    expect(lines.filter((l) => l.includes(key))).toHaveLength(1);
    expect(lines).not.toContain("");
  });

  test("refusals: unknown owner, bad CIDR", async () => {
    await refused(["key", "create", "--user", "ghost", "--label", "x"], "not_found");
    await refused(["key", "create", "--user", "kim", "--label", "x", "--allow-ip", "nope"], "invalid_request");
  });
});

describe("channels, prices, credits, usage", () => {
  test("channel create, list, show, update, test, reveal, disable, enable, delete", async () => {
    const c = await json("channel", "create", "--name", "mock", "--base-url", `${up.url}/v1`, "--api-key", "sk-up-secret", "--models", "gpt-4o-mini", "--map", "fast=gpt-4o-mini");
    expect(c).toMatchObject({ name: "mock", group: "official", models: ["gpt-4o-mini"], modelMap: { fast: "gpt-4o-mini" }, enabled: true });
    expect(JSON.stringify(c)).not.toContain("sk-up-secret");
    expect((await json("channel", "list")).map((x: any) => x.name)).toContain("mock");
    expect((await json("channel", "show", String(c.id))).health.state).toBe("closed");
    expect(await json("channel", "update", String(c.id), "--priority", "5", "--weight", "2")).toMatchObject({ priority: 5, weight: 2 });
    expect(await json("channel", "test", String(c.id))).toMatchObject({ ok: true, status: 200 });
    expect(await json("channel", "reveal", String(c.id))).toEqual({ id: c.id, apiKey: "sk-up-secret" });
    expect(await json("channel", "disable", String(c.id))).toMatchObject({ enabled: false });
    expect(await json("channel", "enable", String(c.id))).toMatchObject({ enabled: true });

    const doomed = await json("channel", "create", "--name", "doomed", "--base-url", "https://example.invalid/v1", "--api-key", "k", "--models", "x");
    expect(await json("channel", "delete", String(doomed.id))).toMatchObject({ id: doomed.id, deleted: true });
  });

  test("a failed channel test still prints its JSON, exits 1, and leaves the process exit code alone", async () => {
    const c = await json("channel", "create", "--name", "broken", "--base-url", `${up.url}/v1`, "--api-key", "k", "--models", "m", "--header", `x-mock-behavior={"behavior":"status","status":401}`);
    const r = await cli(["channel", "test", String(c.id), "--json"]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.out)).toMatchObject({ ok: false, status: 401 });
    expect(process.exitCode ?? 0).toBe(0);
    await json("channel", "delete", String(c.id));
  });

  test("price set, list, delete", async () => {
    expect(await json("price", "set", "gpt-4o-mini", "--input", "150", "--output", "600")).toMatchObject({ model: "gpt-4o-mini", inputPerMTok: 150, outputPerMTok: 600 });
    expect(await json("price", "list")).toContainEqual(expect.objectContaining({ model: "gpt-4o-mini" }));
    expect(await json("price", "delete", "gpt-4o-mini")).toMatchObject({ model: "gpt-4o-mini" });
  });

  test("credits grant, show, ledger; usage after a real request", async () => {
    const { key } = await userWithKey(h, "payer");
    expect(await json("credits", "grant", "payer", "1000", "--note", "top-up")).toMatchObject({ amount: 1000, balanceAfter: 1000 });
    expect(await json("credits", "show", "payer")).toMatchObject({ name: "payer", balance: 1000, heldCredits: 0, available: 1000 });
    expect((await json("credits", "ledger", "payer", "--limit", "5"))[0]).toMatchObject({ kind: "grant", amount: 1000, note: "top-up" });

    const res = await fetch(`${h.url}/v1/chat/completions`, {
      method: "POST",
      headers: { ...bearer(key), "content-type": "application/json" },
      body: JSON.stringify({ model: "gpt-4o-mini", messages: [{ role: "user", content: "hi" }] }),
    });
    expect(res.status).toBe(200);
    await res.text();
    let rows: any[] = [];
    for (let i = 0; i < 100 && rows.length === 0; i++) {
      rows = await json("usage", "--user", "payer", "--limit", "5");
      if (rows.length === 0) await Bun.sleep(20);
    }
    expect(rows[0]).toMatchObject({ model: "gpt-4o-mini", status: 200 });
    await usage(["credits", "grant", "payer", "lots"], /AMOUNT must be an integer/);
    await refused(["credits", "ledger", "nobody"], "not_found");
  });
});

describe("system", () => {
  test("health, audit, master-key rotate", async () => {
    const health = await json("health");
    expect(health).toMatchObject({ status: "ok", listen: h.url });
    const audit = await json("audit", "--limit", "3");
    expect(audit).toHaveLength(3);
    expect(audit[0].id).toBeGreaterThan(audit[2].id);
    const r = await json("master-key", "rotate");
    expect(r.current).not.toBe(r.previous);
    expect(await json("metrics")).toContain("# TYPE relay_requests_total counter");
    expect((await json("openapi")).paths["/users"]).toBeDefined();
  });
});

describe("usage errors exit 2, on stderr, with help", () => {
  test.each([
    [[], /missing command/],
    [["nope"], /unknown command 'nope'/],
    [["user"], /'relay admin user' needs a verb/],
    [["user", "--json"], /'relay admin user' needs a verb/],
    [["user", "nope"], /unknown command 'relay admin user nope'/],
    [["user", "create"], /--name is required/],
    [["user", "create", "--name", "x", "--bogus"], /unknown flag --bogus/],
    [["user", "create", "--name", "x", "--concurrency", "many"], /--concurrency must be an integer/],
    [["user", "create", "--name"], /--name needs a value/],
    [["user", "list", "--json=yes"], /--json takes no value/],
    [["key", "show"], /missing argument/],
    [["key", "show", "1", "2"], /unexpected argument '2'/],
    [["health", "extra"], /unexpected argument 'extra'/],
    [["help", "nope"], /unknown command 'nope'/],
  ] as [string[], RegExp][])("relay admin %p", async (args, message) => {
    await usage(args, message);
    const r = await cli(args);
    expect(r.err).toContain("usage: relay admin");
  });
});

describe("--help at every level exits 0 on stdout", () => {
  test("top level", async () => {
    for (const args of [["--help"], ["-h"], ["help"]]) {
      const r = await cli(args, "/nonexistent.sock");
      expect(r).toMatchObject({ code: 0, err: "" });
      for (const c of commands) expect(r.out).toContain(nameOf(c));
    }
  });

  test("every group and every command, without a server", async () => {
    for (const group of new Set(commands.map((c) => c.group))) {
      for (const args of [[group, "--help"], [group, "-h"], ["help", group]]) {
        const r = await cli(args, "/nonexistent.sock");
        expect(r.code).toBe(0);
        expect(r.out).toStartWith(`usage: relay admin ${group}`);
      }
    }
    for (const c of commands) {
      const words = nameOf(c).split(" ");
      for (const args of [[...words, "--help"], [...words, "-h"], [...words, "--json", "--help"], ["help", ...words]]) {
        const r = await cli(args, "/nonexistent.sock");
        expect(r.code).toBe(0);
        expect(r.err).toBe("");
        expect(r.out).toStartWith(`usage: relay admin ${nameOf(c)}`);
        for (const f of c.flags ?? []) expect(r.out).toContain(`--${f.name}`);
        expect(r.out).toContain("--json");
      }
    }
  });
});

describe("unreachable socket", () => {
  test("every command exits 1 with one clear line", async () => {
    const r = await cli(["user", "list", "--json"], "/nonexistent/admin.sock");
    expect(r.code).toBe(1);
    expect(r.out).toBe("");
    expect(r.err.split("\n")).toHaveLength(1);
    expect(r.err).toContain("cannot reach the relay admin socket at /nonexistent/admin.sock");
  });
});

describe("through the real process", () => {
  const main = join(import.meta.dir, "../server/main.ts");
  async function relay(args: string[], env: Record<string, string> = {}, stdin?: string) {
    const p = Bun.spawn(["bun", main, ...args], {
      env: { ...process.env, RELAY_DATA_DIR: h.dataDir, RELAY_ADMIN_SOCKET: h.socketPath, RELAY_LOG_LEVEL: "silent", ...env },
      stdin: stdin === undefined ? "ignore" : new Blob([stdin]),
      stdout: "pipe",
      stderr: "pipe",
    });
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    return { out, err, code };
  }

  test("--json prints one JSON value and exits 0", async () => {
    const r = await relay(["admin", "user", "create", "--name", "proc", "--credits", "7", "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ name: "proc", balance: 7 });
    const list = await relay(["admin", "user", "list", "--json"]);
    expect(JSON.parse(list.out).map((u: any) => u.name)).toContain("proc");
  });

  test("the password is read from stdin, never from argv", async () => {
    const r = await relay(["admin", "user", "update", "proc", "--password", "--json"], {}, "correct horse battery\n");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).hasPassword).toBe(true);
    const short = await relay(["admin", "user", "update", "proc", "--password"], {}, "short\n");
    expect(short.code).toBe(2);
    expect(short.err).toContain("at least 8 characters");
  });

  test("bad usage exits 2; a refusal exits 1", async () => {
    expect((await relay(["admin", "user", "frobnicate"])).code).toBe(2);
    const r = await relay(["admin", "user", "show", "ghost"]);
    expect(r.code).toBe(1);
    expect(r.err.trim()).toBe("error: no user named ghost (not_found)");
  });

  test("an unreachable socket exits 1 with one line, for admin and tui alike", async () => {
    for (const args of [["admin", "health"], ["tui"]]) {
      const r = await relay(args, { RELAY_ADMIN_SOCKET: "/nonexistent/admin.sock" });
      expect(r.code).toBe(1);
      expect(r.out).toBe("");
      expect(r.err.trim().split("\n")).toHaveLength(1);
      expect(r.err).toContain("cannot reach the relay admin socket at /nonexistent/admin.sock");
    }
  });

  test("help at the top levels exits 0", async () => {
    for (const args of [["--help"], ["admin", "--help"], ["admin", "key", "--help"], ["admin", "key", "create", "--help"], ["tui", "--help"], ["serve", "--help"]]) {
      const r = await relay(args);
      expect(r.code).toBe(0);
      expect(r.out).toContain("usage");
    }
  });
});

describe("organizations", () => {
  test("create, members with roles and caps, org keys (service and member), credits, ledger, usage, suspend, resume, delete", async () => {
    await json("user", "create", "--name", "o-owner");
    await json("user", "create", "--name", "o-dev");
    const org = await json("org", "create", "--name", "acme", "--credits", "500", "--owner", "o-owner", "--concurrency", "4", "--rpm", "60");
    expect(org).toMatchObject({ name: "acme", balance: 500, concurrency: 4, rpm: 60, members: [{ name: "o-owner", role: "owner" }] });
    expect((await json("org", "member", "add", "acme", "o-dev", "--role", "member", "--monthly-spend", "100", "--concurrency", "2")).members)
      .toContainEqual(expect.objectContaining({ name: "o-dev", role: "member", monthlySpend: 100, concurrency: 2 }));
    expect((await json("org", "member", "update", "acme", "o-dev", "--role", "billing")).members).toContainEqual(expect.objectContaining({ name: "o-dev", role: "billing" }));
    await refused(["org", "member", "update", "acme", "o-owner", "--role", "member"], "conflict"); // the last owner stays
    const service = await json("key", "create", "--org", "acme", "--service", "--label", "ci");
    expect(service).toMatchObject({ kind: "service", userId: null, accountId: org.id });
    expect(service.key).toMatch(/^sk-app-/);
    await json("org", "member", "update", "acme", "o-dev", "--role", "member");
    const member = await json("key", "create", "--org", "acme", "--member", "o-dev", "--label", "dev");
    expect(member).toMatchObject({ kind: "member", scopes: ["inference", "keys:read", "keys:write"] });
    await refused(["key", "create", "--org", "acme", "--member", "o-dev", "--label", "x", "--scopes", "members:write"], "insufficient_scope");
    await usage(["key", "create", "--org", "acme", "--label", "x"], /exactly one of --service or --member/);
    expect((await json("key", "list", "--org", "acme")).map((k: any) => k.kind).sort()).toEqual(["member", "service"]);
    expect(await json("credits", "grant", "acme", "250", "--org", "--note", "top-up")).toMatchObject({ applied: true, balanceAfter: 750 });
    expect(await json("credits", "show", "acme", "--org")).toMatchObject({ name: "acme", balance: 750 });
    expect((await json("credits", "ledger", "acme", "--org")).map((r: any) => r.amount)).toEqual([250, 500]);
    expect(await json("usage", "--org", "acme")).toEqual([]);
    expect((await json("org", "update", "acme", "--monthly-tokens", "1000000", "--key-reveal", "never")).keyReveal).toBe("never");
    expect((await json("org", "show", "acme")).monthlyTokens).toBe(1_000_000);
    // An update changes only what it names, and 'none' removes a limit.
    expect(await json("org", "update", "acme", "--rpm", "none")).toMatchObject({ rpm: null, concurrency: 4, monthlyTokens: 1_000_000 });
    expect((await json("key", "update", String(service.id), "--spend-limit", "10", "--tpm", "500"))).toMatchObject({ spendLimit: 10, tpm: 500 });
    expect((await json("key", "update", String(service.id), "--spend-limit", "none"))).toMatchObject({ spendLimit: null, tpm: 500 });
    await usage(["key", "update", String(service.id), "--rpm", "lots"], /--rpm must be an integer or 'none'/);
    expect((await json("org", "list")).map((o: any) => o.name)).toEqual(["acme"]);
    expect((await json("org", "suspend", "acme")).suspended).toBe(true);
    const r = await fetch(`${h.url}/v1/me`, { headers: bearer(service.key) });
    expect(r.status).toBe(403);
    expect(((await r.json()) as any).error.code).toBe("org_suspended");
    expect((await json("org", "resume", "acme")).suspended).toBe(false);
    expect((await fetch(`${h.url}/v1/me`, { headers: bearer(service.key) })).status).toBe(200);
    expect((await json("org", "member", "remove", "acme", "o-dev")).members.map((m: any) => m.name)).toEqual(["o-owner"]);
    await refused(["org", "delete", "acme"], "conflict"); // still holds credits
    await json("credits", "grant", "acme", "-750", "--org");
    expect(await json("org", "delete", "acme")).toEqual({ name: "acme", deleted: true });
    await refused(["org", "show", "acme"], "not_found");
  });

  test("key import by plaintext and by sha256; a duplicate is refused without saying whose", async () => {
    await json("user", "create", "--name", "importer");
    const plain = "sk-legacy-0123456789abcdefghijklmnopqrstuvwxyz";
    const k1 = await json("key", "import", "--user", "importer", "--label", "old", "--key", plain);
    expect(k1).toMatchObject({ revealable: true, label: "old" });
    expect((await fetch(`${h.url}/v1/me`, { headers: bearer(plain) })).status).toBe(200);
    const other = "sk-other-gateway-key-zyxwvutsrqponmlkjihgfedcba9876";
    const digest = new Bun.CryptoHasher("sha256").update(other).digest("hex");
    const k2 = await json("key", "import", "--user", "importer", "--label", "hashed", "--sha256", digest);
    expect(k2).toMatchObject({ revealable: false, prefix: `sha256:${digest.slice(0, 8)}` });
    expect((await fetch(`${h.url}/v1/me`, { headers: bearer(other) })).status).toBe(200);
    const err = await refused(["key", "import", "--user", "importer", "--label", "again", "--key", plain], "conflict");
    expect(err).not.toContain("importer");
    await refused(["key", "reveal", String(k2.id)], "reveal_disabled");
  });
});

describe("webhooks", () => {
  // This relay refuses private addresses (the default), so endpoints get a public literal address; no event
  // is queued, so nothing is ever sent to it. Deliveries themselves are tested in test/webhooks/.
  test("create (--user, --org), list, rotate, deliveries, delete", async () => {
    await json("user", "create", "--name", "wendy");
    await json("org", "create", "--name", "hooks-org");
    const w = await json("webhook", "create", "--user", "wendy", "--url", "https://8.8.8.8/hook", "--events", "response.completed,batch.failed");
    expect(w).toMatchObject({ url: "https://8.8.8.8/hook", events: ["response.completed", "batch.failed"], enabled: true });
    expect(w.secret).toMatch(/^whsec_/);
    const o = await json("webhook", "create", "--org", "hooks-org", "--url", "https://8.8.4.4/low", "--events", "credits.low", "--credits-below", "10");
    expect(o).toMatchObject({ credits_below: 10 });
    expect((await json("webhook", "list", "--user", "wendy")).map((x: any) => x.id)).toEqual([w.id]);
    expect((await json("webhook", "list", "--org", "hooks-org")).map((x: any) => x.id)).toEqual([o.id]);
    const all = await json("webhook", "list");
    expect(all.map((x: any) => x.id)).toEqual(expect.arrayContaining([w.id, o.id]));
    expect(JSON.stringify(all)).not.toContain("whsec_");
    const r = await json("webhook", "rotate", String(w.id));
    expect(r.secret).toMatch(/^whsec_/);
    expect(r.secret).not.toBe(w.secret);
    expect(await json("webhook", "deliveries", "--webhook", String(w.id), "--limit", "5")).toEqual([]);
    expect(Array.isArray(await json("webhook", "deliveries"))).toBe(true);
    expect(await json("webhook", "delete", String(w.id))).toEqual({ id: w.id, deleted: true });
    const human = await cli(["webhook", "list", "--org", "hooks-org"]);
    expect(human.out).toContain("https://8.8.4.4/low");
    // Admin writes are audited as admin:socket, naming the endpoint and never its secret.
    const audit = await json("audit", "--limit", "10");
    expect(audit.filter((a: any) => a.target === `webhook:${w.id}`).map((a: any) => [a.actor, a.action])).toEqual([
      ["admin:socket", "webhook.delete"], ["admin:socket", "webhook.rotate"], ["admin:socket", "webhook.create"],
    ]);
    expect(JSON.stringify(audit)).not.toContain("whsec_");
  });

  test("refusals and usage errors", async () => {
    await refused(["webhook", "create", "--user", "wendy", "--url", "http://127.0.0.1:9/x", "--events", "batch.failed"], "invalid_request");
    await refused(["webhook", "create", "--user", "wendy", "--url", "https://8.8.8.8/x", "--events", "batch.done"], "invalid_request");
    await refused(["webhook", "create", "--user", "nobody", "--url", "https://8.8.8.8/x", "--events", "batch.failed"], "not_found");
    await refused(["webhook", "delete", "999999"], "not_found");
    await refused(["webhook", "deliveries", "--webhook", "999999"], "not_found");
    await usage(["webhook", "create", "--user", "wendy", "--org", "hooks-org", "--url", "https://8.8.8.8/x", "--events", "batch.failed"], "give --user or --org, not both");
    await usage(["webhook", "create", "--url", "https://8.8.8.8/x", "--events", "batch.failed"], "say whose endpoint");
  });
});

test("every command above was run with --json", () => {
  // The database commands (migrate, export, import) need no server: test/admin/export-import.test.ts runs them.
  const missing = commands.filter((c) => !c.local).map(nameOf).filter((n) => !covered.has(n));
  expect(missing).toEqual([]);
});
