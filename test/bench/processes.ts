/**
 * Child processes for the bench and the drills: the relay (from source or the compiled binary), helper
 * scripts that announce themselves with one stdout line, and readings of a process's memory.
 */
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync } from "node:fs";
import { readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { AdminClient } from "../../tui/client";

export const ROOT = join(import.meta.dir, "../..");
export const BINARY = join(ROOT, "dist/relay");

export type RelayProcess = {
  proc: Subprocess;
  pid: number;
  url: string;
  dataDir: string;
  logPath: string;
  admin: AdminClient;
  /** SIGTERM and wait (graceful shutdown). */
  stop(): Promise<void>;
  /** SIGKILL and wait: no shutdown code runs. */
  kill9(): Promise<void>;
  logTail(lines?: number): string;
};

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** `dist/relay serve`, or `bun server/main.ts serve` from source. */
export function relayCommand(binary: boolean): string[] {
  return binary ? [BINARY, "serve"] : [process.execPath, join(ROOT, "server/main.ts"), "serve"];
}

/** Whether dist/relay exists and is newer than every source file it is built from. */
export function binaryIsFresh(): boolean {
  if (!existsSync(BINARY)) return false;
  const built = statSync(BINARY).mtimeMs;
  const newest = (dir: string): number => {
    let m = 0;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      m = Math.max(m, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
    }
    return m;
  };
  return Math.max(newest(join(ROOT, "server")), newest(join(ROOT, "db")), newest(join(ROOT, "tui")), statSync(join(ROOT, "package.json")).mtimeMs) <= built;
}

export async function buildBinary(): Promise<void> {
  const p = Bun.spawn([process.execPath, "run", "build"], { cwd: ROOT, stdout: "ignore", stderr: "inherit" });
  if ((await p.exited) !== 0) throw new Error("bun run build failed");
}

/**
 * Starts the relay on a free port with `dataDir` (reused as is, so a restart after a crash sees the same
 * database) and waits until it logs that it listens. Its log goes to `<dataDir>/../<name>.log`.
 */
export async function startRelayProcess(opts: { dataDir: string; binary?: boolean; binaryPath?: string; env?: Record<string, string>; logPath?: string; timeoutMs?: number }): Promise<RelayProcess> {
  const logPath = opts.logPath ?? `${opts.dataDir}.log`;
  const fd = openSync(logPath, "a");
  const logStart = statSync(logPath).size;
  const proc = Bun.spawn(opts.binaryPath ? [opts.binaryPath, "serve"] : relayCommand(opts.binary ?? false), {
    cwd: ROOT,
    // Info level at least: the "relay listening" line is how the port is learnt (per-request lines are debug).
    env: { ...process.env, RELAY_DATA_DIR: opts.dataDir, RELAY_PORT: "0", RELAY_HOST: "127.0.0.1", ...opts.env, RELAY_LOG_LEVEL: "info" },
    stdin: "ignore",
    stdout: fd,
    stderr: fd,
  });
  closeSync(fd);
  const readLog = () => readFileSync(logPath, "utf8").slice(logStart);
  const logTail = (lines = 20) => readLog().trimEnd().split("\n").slice(-lines).join("\n");
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  let url: string | null = null;
  while (url === null) {
    const m = /"msg":"relay listening".*?"url":"([^"]+)"/.exec(readLog());
    if (m) url = m[1]!;
    else if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill(9);
      throw new Error(`relay did not start (exit ${proc.exitCode}):\n${logTail()}`);
    } else await Bun.sleep(5);
  }
  const admin = new AdminClient(join(opts.dataDir, "admin.sock"));
  return {
    proc, pid: proc.pid, url, dataDir: opts.dataDir, logPath, admin, logTail,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill("SIGTERM");
      const t = setTimeout(() => proc.kill(9), 15_000);
      await proc.exited;
      clearTimeout(t);
    },
    async kill9() {
      proc.kill(9);
      await proc.exited;
    },
  };
}

/** Starts `cmd` and resolves with its first stdout line (helper scripts print their address there). */
export async function spawnAnnouncing(cmd: string[], env: Record<string, string> = {}, timeoutMs = 15_000): Promise<{ proc: Subprocess<"ignore", "pipe", "inherit">; line: string }> {
  const proc = Bun.spawn(cmd, { cwd: ROOT, env: { ...process.env, ...env }, stdin: "ignore", stdout: "pipe", stderr: "inherit" });
  const reader = proc.stdout.getReader();
  const dec = new TextDecoder();
  let buf = "";
  const timer = setTimeout(() => proc.kill(9), timeoutMs);
  while (!buf.includes("\n")) {
    const { done, value } = await reader.read();
    if (done) throw new Error(`${cmd.join(" ")} exited before announcing itself`);
    buf += dec.decode(value, { stream: true });
  }
  clearTimeout(timer);
  reader.releaseLock();
  return { proc, line: buf.slice(0, buf.indexOf("\n")).trim() };
}

/** VmRSS (now) and VmHWM (peak) of a live process, in bytes. */
export function memoryOf(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb("VmRSS"), peak: kb("VmHWM") };
}

/** CPU time (user + system) a live process has used so far, in seconds; /proc counts in 10 ms ticks. */
export function cpuSecondsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** A port that was free a moment ago. */
export function freePort(): number {
  const s = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const port = s.port;
  s.stop(true);
  return port;
}

/**
 * Creates a channel, a price, a user and a key over the admin socket, so requests go through every
 * part of the relay's accounting. Returns the key's plaintext.
 */
export async function setupTenant(admin: AdminClient, o: {
  user: string; model: string; upstreams: { name: string; baseUrl: string }[]; credits: number; concurrency: number;
  price?: { inputPerMTok: number; outputPerMTok: number };
}): Promise<{ key: string; keyId: number; channelIds: number[] }> {
  const channelIds: number[] = [];
  for (const u of o.upstreams) {
    const c = await admin.channels.create({ name: u.name, group: "official", baseUrl: u.baseUrl, apiKey: "sk-upstream", models: [o.model] });
    channelIds.push(c.id as number);
  }
  await admin.prices.set(o.model, o.price ?? { inputPerMTok: 1_000_000, outputPerMTok: 2_000_000 });
  await admin.users.create({ name: o.user, credits: o.credits, concurrency: o.concurrency });
  const k = await admin.keys.create({ user: o.user, label: `${o.user}-key` });
  return { key: k.key as string, keyId: k.id as number, channelIds };
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
  rmSync(`${dir}.log`, { force: true });
}
