import { eq } from "drizzle-orm";
import { settings } from "../../db/schema";
import type { Db } from "../../db/client";
import type { Config } from "../config";
import { Keyring, KeyringError } from "./keyring";
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
