import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../server/config";
import { startServer, type RunningServer } from "../../server/serve";
import { AdminClient } from "../../tui/client";
import { setLogLevel } from "../../server/log";
import { randomBytes } from "node:crypto";
import { freshDatabase, keyPrefix, redisUrl } from "./services";

export type Harness = RunningServer & { admin: AdminClient; dataDir: string; close: () => Promise<void> };

/**
 * The mode tests run relay in: `embedded` by default, or RELAY_TEST_MODE=postgres|cluster, which runs the
 * same tests against a fresh PostgreSQL database (and Redis, under a key prefix of its own) per relay.
 */
export const TEST_MODE = (process.env.RELAY_TEST_MODE ?? "embedded") as "embedded" | "postgres" | "cluster";

/** Environment for a relay in TEST_MODE (a fresh database when not embedded); `drop` removes what it made. */
export async function modeEnv(mode = TEST_MODE): Promise<{ env: Record<string, string>; drop: () => Promise<void> }> {
  if (mode === "embedded") return { env: {}, drop: async () => {} };
  const db = await freshDatabase();
  const env: Record<string, string> = { RELAY_DATABASE_URL: db.url, RELAY_MASTER_KEY: randomBytes(32).toString("base64") };
  if (mode === "cluster") Object.assign(env, { RELAY_REDIS_URL: redisUrl(), RELAY_REDIS_PREFIX: keyPrefix("relay") });
  return { env, drop: () => db.drop() };
}

/** Starts a real relay on a loopback port with a fresh data dir (real SQLite file or PostgreSQL database, real admin socket). */
export async function startRelay(env: Record<string, string> = {}): Promise<Harness> {
  setLogLevel((process.env.RELAY_TEST_LOG as never) ?? "silent");
  const dataDir = mkdtempSync(join(tmpdir(), "relay-test-"));
  const mode = env.RELAY_DATABASE_URL ? { env: {}, drop: async () => {} } : await modeEnv();
  const config = loadConfig({ RELAY_DATA_DIR: dataDir, RELAY_PORT: "0", RELAY_LOG_LEVEL: "silent", ...mode.env, ...env });
  const server = await startServer(config);
  const admin = new AdminClient(server.socketPath);
  return {
    ...server,
    admin,
    dataDir,
    close: async () => {
      await server.stop(1000);
      rmSync(dataDir, { recursive: true, force: true });
      await mode.drop().catch(() => {});
    },
  };
}

/** Creates a user and a key over the admin socket; returns the plaintext key. */
export async function userWithKey(h: Harness, name: string, user: Record<string, unknown> = {}, key: Record<string, unknown> = {}) {
  const u = await h.admin.users.create({ name, ...user });
  const k = await h.admin.keys.create({ user: name, label: `${name}-key`, ...key });
  return { user: u, keyId: k.id as number, key: k.key as string, prefix: k.prefix as string };
}

export function bearer(key: string): Record<string, string> {
  return { authorization: `Bearer ${key}` };
}
