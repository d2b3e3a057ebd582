import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { startRelay, type Harness } from "./support/harness";

/**
 * End to end: a real server, the real `relay tui` in a real terminal (tmux, 120×32), a user, a key, an
 * org and its service key created with the keyboard, then checked through the CLI and the admin client.
 */
const tmux = Bun.which("tmux");
if (!tmux) console.warn("skipping test/tui-e2e.test.ts: tmux is not installed (apt-get install tmux)");

const main = join(import.meta.dir, "../server/main.ts");
const server = `relay-e2e-${process.pid}`; // a private tmux server: never touches the user's sessions
const session = "tui";

function run(...args: string[]): string {
  const p = Bun.spawnSync([tmux!, "-L", server, "-f", "/dev/null", ...args], { stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`tmux ${args.join(" ")}: ${p.stderr.toString()}`);
  return p.stdout.toString();
}
const pane = () => run("capture-pane", "-p", "-t", session);
const keys = (...k: string[]) => void run("send-keys", "-t", session, ...k);
const type = (text: string) => void run("send-keys", "-t", session, "-l", text);

async function waitPane(what: string | RegExp, timeoutMs = 20_000): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const p = pane();
    if (typeof what === "string" ? p.includes(what) : what.test(p)) return p;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what} in the pane:\n${p}`);
    await Bun.sleep(50);
  }
}

describe.skipIf(!tmux)("relay tui in tmux", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startRelay();
    const env = `RELAY_DATA_DIR='${h.dataDir}' RELAY_ADMIN_SOCKET='${h.socketPath}' RELAY_LOG_LEVEL=silent`;
    // After the UI exits, the shell prints its exit code on the restored primary screen and waits.
    run("new-session", "-d", "-x", "120", "-y", "32", "-s", session, `env ${env} bun '${main}' tui; echo "tui exited $?"; sleep 600`);
  });
  afterAll(async () => {
    try {
      run("kill-server");
    } catch {
      /* already gone */
    }
    await h?.close();
  });

  test("create a user, a key, an org and its service key with the keyboard; all exist afterwards", async () => {
    let p = await waitPane(/● ok[\s\S]*Users 0/);
    expect(p).toContain(h.url);
    expect(p.split("\n").slice(0, 32).some((l) => l.includes("1 Users  2 Keys  3 Channels  4 Usage  5 Ledger  6 Audit  7 Orgs  8 Prices"))).toBe(true);
    expect(p).toMatch(/n new\s+e edit\s+c credits/);

    keys("n");
    await waitPane("New user");
    type("eve");
    keys("Enter");
    type("2");
    keys("Enter", "Enter");
    type("500");
    keys("Enter");
    p = await waitPane(/eve\s+user\s+yes\s+0\/2\s+500/);
    expect(p).toContain("user eve created");

    keys("2");
    p = await waitPane(/Keys 0/);
    expect(p).not.toContain("user eve created"); // a view switch clears the status line
    keys("n");
    p = await waitPane("New API key");
    // The user field is prefilled with the first user; clear it anyway and type the owner.
    for (let i = 0; i < 8; i++) keys("BSpace");
    type("eve");
    keys("Enter");
    type("laptop");
    // Enter through group, IP allow-list, expiry, models, spend limit and scopes (prefilled "full"); enter there submits.
    for (let i = 0; i < 7; i++) keys("Enter");
    p = await waitPane("Shown once");
    const key = p.match(/sk-app-[0-9A-Za-z]{8}_[0-9A-Za-z]{48}/)?.[0];
    expect(key).toBeDefined();

    keys("Escape");
    p = await waitPane(/eve\s+sk-app-\w{8}\s+laptop\s+yes\s+either/);
    expect(p).not.toContain(key!);

    // Reveal it, then Escape and 4 back to back (one chunk, as fast typing sends them): both act.
    keys("r");
    await waitPane("Reveal key");
    keys("y");
    p = await waitPane("Revealed; the server audited it.");
    expect(p).toContain(key!);
    keys("Escape", "4");
    p = await waitPane("live, newest first");
    expect(p).not.toContain(key!);
    keys("2");
    p = await waitPane(/eve\s+sk-app-\w{8}\s+laptop/);
    expect(p).not.toContain(key!);

    // Through the CLI (a separate process; async, since this process serves its socket) and the admin client.
    const cli = Bun.spawn(["bun", main, "admin", "user", "show", "eve", "--json"], {
      env: { ...process.env, RELAY_DATA_DIR: h.dataDir, RELAY_ADMIN_SOCKET: h.socketPath },
      stdout: "pipe",
      stderr: "pipe",
    });
    const [out, code] = await Promise.all([new Response(cli.stdout).text(), cli.exited]);
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ name: "eve", concurrency: 2, balance: 500, monthlyTokens: 0 });
    const list = await h.admin.keys.list("eve");
    expect(list.data).toHaveLength(1);
    expect(list.data[0]).toMatchObject({ label: "laptop", group: "either", scopes: ["full"], enabled: true });
    expect((await h.admin.keys.reveal(list.data[0]!.id)).key).toBe(key!);

    // An org owned by eve, and a service key for it, from the Orgs view (7).
    keys("7");
    await waitPane(/Orgs 0/);
    keys("n");
    await waitPane("New organization");
    type("acme");
    keys("Enter");
    type("eve");
    keys("Enter");
    type("100");
    keys("Enter", "Enter");
    p = await waitPane(/acme\s+active\s+100\s+0\s+0\/10\s+1\s+0/);
    expect(p).toContain("org acme created with owner eve");
    keys("K");
    await waitPane("service key (no user behind it)");
    keys("Enter");
    await waitPane("New service key for acme");
    type("ci");
    for (let i = 0; i < 9; i++) keys("Enter");
    p = await waitPane("Shown once");
    const orgKey = p.match(/sk-app-[0-9A-Za-z]{8}_[0-9A-Za-z]{48}/)?.[0];
    expect(orgKey).toBeDefined();
    keys("Escape");
    p = await waitPane(/acme\s+active\s+100\s+0\s+0\/10\s+1\s+1/);
    expect(p).not.toContain(orgKey!);
    expect((await h.admin.keys.list(undefined, "acme")).data).toMatchObject([{ kind: "service", userId: null, label: "ci" }]);
    expect(await h.admin.orgs.get("acme")).toMatchObject({ balance: 100, members: [{ name: "eve", role: "owner" }] });

    keys("q");
    p = await waitPane("tui exited 0");
    expect(p).not.toContain("Keys 1"); // the alternate screen is gone, the shell's screen is back
  }, 120_000);
});
