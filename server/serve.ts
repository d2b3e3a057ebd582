import { chmodSync, existsSync, unlinkSync } from "node:fs";
import type { Config } from "./config";
import type { AppContext } from "./context";
import { createContext } from "./bootstrap";
import { createPublicApp } from "./http/app";
import { createAdminApp } from "./admin/app";
import { log } from "./log";

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

export async function startServer(config: Config, opts: { dbPath?: string } = {}): Promise<RunningServer> {
  const ctx = createContext(config, opts);
  const publicApp = createPublicApp(ctx);
  // Bun's own body limit answers with an empty 413; keep it far above ours so every refusal is our JSON error.
  publicApp.listen({
    hostname: config.RELAY_HOST,
    port: config.RELAY_PORT,
    maxRequestBodySize: Math.max(config.RELAY_MAX_BODY_BYTES * 4, 64 * 1024 * 1024),
    idleTimeout: 0,
  });
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
      for (const fn of (ctx.ext.onShutdown as (() => void)[] | undefined) ?? []) fn();
      ctx.writer.close(); // flushes first
      ctx.db.$client.close();
      if (existsSync(config.RELAY_ADMIN_SOCKET)) unlinkSync(config.RELAY_ADMIN_SOCKET);
    })());

  log.info("relay listening", { url, adminSocket: config.RELAY_ADMIN_SOCKET, dataDir: config.RELAY_DATA_DIR });
  return { ctx, url, port: http.port!, socketPath: config.RELAY_ADMIN_SOCKET, stop };
}
