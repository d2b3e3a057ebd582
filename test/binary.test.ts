import { expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dir, "..");
const bin = join(root, "dist/relay");

test("the compiled binary builds, starts from any directory with embedded migrations, and answers", async () => {
  if (!existsSync(bin) || statSync(bin).mtimeMs < statSync(join(root, "server/main.ts")).mtimeMs) {
    const b = Bun.spawnSync(["bun", join(root, ".ci/build.ts")], { stdout: "pipe", stderr: "pipe" });
    expect(b.exitCode).toBe(0);
  }
  const cwd = mkdtempSync(join(tmpdir(), "relay-bin-"));
  const version = Bun.spawnSync([bin, "--version"], { cwd, stdout: "pipe" });
  expect(version.stdout.toString().trim()).toBe(JSON.parse(readFileSync(join(root, "package.json"), "utf8")).version);
  expect(Bun.spawnSync([bin, "--help"], { cwd, stdout: "pipe" }).stdout.toString()).toContain("relay admin");

  // Port 0: the kernel picks a free one (a random fixed port was sometimes taken); the log line says which.
  const server = Bun.spawn([bin, "serve"], { cwd, env: { ...process.env, RELAY_PORT: "0", RELAY_DATA_DIR: "", RELAY_LOG_LEVEL: "info" }, stdout: "pipe", stderr: "pipe" });
  try {
    let log = "";
    let url: string | null = null;
    const reader = server.stderr.getReader();
    const timeout = setTimeout(() => server.kill(9), 10_000);
    while (url === null) {
      const { done, value } = await reader.read();
      if (done) break;
      log += new TextDecoder().decode(value);
      url = /"msg":"relay listening".*?"url":"([^"]+)"/.exec(log)?.[1] ?? null;
    }
    clearTimeout(timeout);
    reader.releaseLock();
    if (url === null || !existsSync(join(cwd, "data/admin.sock"))) throw new Error(`relay serve did not start (exit ${server.exitCode}):\n${log}`);
    const admin = (...args: string[]) => Bun.spawnSync([bin, "admin", ...args, "--json"], { cwd, stdout: "pipe", stderr: "pipe" });
    expect(admin("user", "create", "--name", "bin").exitCode).toBe(0);
    const created = JSON.parse(admin("key", "create", "--user", "bin", "--label", "b").stdout.toString());
    const me = await fetch(`${url}/v1/me`, { headers: { authorization: `Bearer ${created.key}` } });
    expect(me.status).toBe(200);
    expect(((await me.json()) as any).user.name).toBe("bin");
    // The settlement writer's thread is a second module in the binary; if it could not load, commits fall
    // back to the main thread (with an error logged), which this would show.
    await Bun.sleep(100);
    expect(JSON.parse(admin("health").stdout.toString()).settlementWriter).toBe("thread");
  } finally {
    server.kill("SIGTERM");
    await server.exited;
  }
  expect(server.exitCode).toBe(0);
}, 120_000); // a rebuild of the binary can take a while on a loaded machine
