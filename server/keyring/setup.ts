import { eq } from "drizzle-orm";
import { settings } from "../../db/schema";
import type { Db } from "../../db/client";
import type { Config } from "../config";
import { Keyring, KeyringError } from "./keyring";
import type { SettingsStore } from "../stores/types";
import { appendNewMasterKey, readMasterKeyFile } from "./master-key-file";

const CURRENT = "keyring.current";

/**
 * Builds the keyring from RELAY_MASTER_KEY and the master key file. On a fresh data dir with no
 * RELAY_MASTER_KEY, a key is generated into the file once. The current key id is kept in the database,
 * so a restart without the key that encrypted the data fails closed instead of silently starting over.
 */
export function loadKeyring(config: Config, db: Db): Keyring {
  const ring = new Keyring();
  const envKey = config.RELAY_MASTER_KEY ? Buffer.from(config.RELAY_MASTER_KEY, "base64") : null;
  const envId = envKey ? ring.add(envKey) : null;
  let fileKeys = readMasterKeyFile(config.masterKeyPath);
  const stored = db.select().from(settings).where(eq(settings.key, CURRENT)).get()?.value;
  if (!envKey && fileKeys.length === 0) {
    if (stored) throw new KeyringError(`master key ${stored} is needed but neither RELAY_MASTER_KEY nor ${config.masterKeyPath} provides it`);
    fileKeys = [appendNewMasterKey(config.masterKeyPath)];
  }
  const fileIds = fileKeys.map((k) => ring.add(k));
  let current = stored;
  if (!current) {
    current = envId ?? fileIds.at(-1)!;
    db.insert(settings).values({ key: CURRENT, value: current }).run();
  }
  if (!ring.has(current)) {
    throw new KeyringError(`master key ${current} is needed but neither RELAY_MASTER_KEY nor ${config.masterKeyPath} provides it`);
  }
  ring.setCurrent(current);
  return ring;
}

export function saveCurrentKeyId(db: Db, id: string): void {
  db.insert(settings).values({ key: CURRENT, value: id }).onConflictDoUpdate({ target: settings.key, set: { value: id } }).run();
}

/**
 * The keyring of a PostgreSQL database (PostgreSQL and cluster modes): the same rules as loadKeyring, with
 * the current key id in the shared settings table, so every instance checks its RELAY_MASTER_KEY against
 * the one the data was encrypted with. The first instance to start on an empty database records its key.
 */
export async function loadSharedKeyring(config: Config, settingsStore: SettingsStore): Promise<Keyring> {
  const ring = new Keyring();
  const envKey = config.RELAY_MASTER_KEY ? Buffer.from(config.RELAY_MASTER_KEY, "base64") : null;
  const envId = envKey ? ring.add(envKey) : null;
  // One instance on PostgreSQL may keep its key in the data dir's file as embedded mode does; a cluster may not.
  let fileKeys = config.mode === "cluster" ? [] : readMasterKeyFile(config.masterKeyPath);
  const stored = await settingsStore.get(CURRENT);
  if (!envKey && fileKeys.length === 0) {
    if (stored) throw new KeyringError(`this database was encrypted with master key ${stored}: set RELAY_MASTER_KEY to that key`);
    fileKeys = [appendNewMasterKey(config.masterKeyPath)];
  }
  const fileIds = fileKeys.map((k) => ring.add(k));
  const current = stored ?? (await settingsStore.putIfAbsent(CURRENT, envId ?? fileIds.at(-1)!));
  if (!ring.has(current)) {
    throw new KeyringError(
      `RELAY_MASTER_KEY cannot decrypt this database: its data was encrypted with master key ${current}, and this instance was given ${envId ?? fileIds.join(", ")}. Give every instance the same RELAY_MASTER_KEY`,
    );
  }
  ring.setCurrent(current);
  return ring;
}
