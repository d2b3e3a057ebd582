import { chmodSync, existsSync, unlinkSync } from "node:fs";
import type { Config } from "./config";
import type { AppContext } from "./context";
import { createContext } from "./bootstrap";
import { createPublicApp } from "./http/app";
import { createAdminApp } from "./admin/app";
import { log, redactKeysStartingWith } from "./log";
import { watchExternalAuthChanges } from "./auth/revocation";

export type RunningServer = {
  ctx: AppContext;
  url: string;
  port: number;
  socketPath: string;
  /** Graceful stop: refuse new connections, wait for in-flight requests (up to the timeout), flush, close. */
  stop: (timeoutMs?: number) => Promise<void>;
};

/** Refuses to take over a socket that a live relay is serving; removes a stale one left by a crash. */
async function claimSocket(path: string): Promise<void> {
  if (!existsSync(path)) return;
  const alive = await fetch("http://relay/health", { unix: path, signal: AbortSignal.timeout(500) } as RequestInit)
    .then(() => true, () => false);
  if (alive) throw new Error(`another relay is already serving the admin socket ${path}`);
  unlinkSync(path);
}

/** A start-up failure that names the address, so the operator knows which setting to change. */
function listenError(err: unknown, host: string, port: number): Error {
  const where = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  const code = (err as { code?: string })?.code;
  if (code === "EADDRINUSE") return new Error(`${where} is already in use (another relay or program listens there); stop it or set RELAY_PORT / RELAY_HOST`);
  if (code === "EACCES") return new Error(`no permission to listen on ${where}; use a port above 1023 or set RELAY_PORT`);
  if (code === "EADDRNOTAVAIL") return new Error(`cannot listen on ${where}: the address is not on this machine; set RELAY_HOST`);
  return new Error(`cannot listen on ${where}: ${(err as Error)?.message ?? String(err)}`);
}

export async function startServer(config: Config, opts: { dbPath?: string } = {}): Promise<RunningServer> {
  const lead = config.keyFormat.parts[0];
  if (lead && "literal" in lead) redactKeysStartingWith(lead.literal);
  const ctx = await createContext(config, opts);
  const publicApp = createPublicApp(ctx);
  try {
    publicApp.listen({
      hostname: config.RELAY_HOST,
      port: config.RELAY_PORT,
      // Bun's own body limit answers with an empty 413; keep it far above ours so every refusal is our JSON error.
      maxRequestBodySize: Math.max(config.RELAY_MAX_BODY_BYTES * 4, 64 * 1024 * 1024),
      idleTimeout: 0,
      // Elysia turns SO_REUSEPORT on by default: a second relay on the same port would then start and take
      // half the connections, answering them from another database. A port in use must be an error.
      reusePort: false,
    });
  } catch (err) {
    await ctx.close();
    throw listenError(err, config.RELAY_HOST, config.RELAY_PORT);
  }
  const http = publicApp.server!;
  const host = http.hostname ?? config.RELAY_HOST;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${http.port}`;

  await claimSocket(config.RELAY_ADMIN_SOCKET);
  const adminApp = createAdminApp(ctx, () => ({ listen: url }));
  const oldMask = process.umask(0o177); // the socket is born 0600, no window where others could connect
  try {
    adminApp.listen({ unix: config.RELAY_ADMIN_SOCKET } as never);
  } finally {
    process.umask(oldMask);
  }
  chmodSync(config.RELAY_ADMIN_SOCKET, 0o600);
  const admin = adminApp.server!;
  const stopWatching = watchExternalAuthChanges(ctx);

  let stopping: Promise<void> | null = null;
  const stop = (timeoutMs = config.RELAY_SHUTDOWN_TIMEOUT_MS) =>
    (stopping ??= (async () => {
      const drained = http.stop(false);
      const timedOut = await Promise.race([drained.then(() => false), Bun.sleep(timeoutMs).then(() => true)]);
      if (timedOut) {
        log.warn("shutdown timeout reached; closing remaining connections", { pending: http.pendingRequests });
        await http.stop(true);
      }
      await admin.stop(true);
      stopWatching();
      await ctx.close();
      if (existsSync(config.RELAY_ADMIN_SOCKET)) unlinkSync(config.RELAY_ADMIN_SOCKET);
    })());

  log.info("relay listening", { url, adminSocket: config.RELAY_ADMIN_SOCKET, dataDir: config.RELAY_DATA_DIR });
  return { ctx, url, port: http.port!, socketPath: config.RELAY_ADMIN_SOCKET, stop };
}
