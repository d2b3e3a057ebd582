import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../../server/config";
import { startServer, type RunningServer } from "../../server/serve";
import { AdminClient } from "../../tui/client";
import { setLogLevel } from "../../server/log";

export type Harness = RunningServer & { admin: AdminClient; dataDir: string; close: () => Promise<void> };

/** Starts a real relay on a loopback port with a fresh data dir (real SQLite file, real admin socket). */
export async function startRelay(env: Record<string, string> = {}): Promise<Harness> {
  setLogLevel((process.env.RELAY_TEST_LOG as never) ?? "silent");
  const dataDir = mkdtempSync(join(tmpdir(), "relay-test-"));
  const config = loadConfig({ RELAY_DATA_DIR: dataDir, RELAY_PORT: "0", RELAY_LOG_LEVEL: "silent", ...env });
  const server = await startServer(config);
  const admin = new AdminClient(server.socketPath);
  return {
    ...server,
    admin,
    dataDir,
    close: async () => {
      await server.stop(1000);
      rmSync(dataDir, { recursive: true, force: true });
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
