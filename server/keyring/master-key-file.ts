import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { randomBytes } from "node:crypto";
import { KeyringError, masterKeyId } from "./keyring";

/**
 * The master key file holds one key per line as `<id> <base64>`, oldest first. Rotation appends;
 * old keys stay so that rows not yet re-encrypted (or a restore from backup) keep decrypting.
 */
export function readMasterKeyFile(path: string): Buffer[] {
  if (!existsSync(path)) return [];
  const keys: Buffer[] = [];
  for (const line of readFileSync(path, "utf8").split("\n")) {
    const trimmed = line.trim();
    if (!trimmed || trimmed.startsWith("#")) continue;
    const b64 = trimmed.split(/\s+/).at(-1)!;
    const key = Buffer.from(b64, "base64");
    if (key.length !== 32) throw new KeyringError(`${path}: a line does not hold a base64 32-byte key`);
    keys.push(key);
  }
  return keys;
}

/** Appends a new random key to the file (created with mode 0600) and returns it. */
export function appendNewMasterKey(path: string): Buffer {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const key = randomBytes(32);
  const existing = existsSync(path) ? readFileSync(path, "utf8") : "";
  const sep = existing && !existing.endsWith("\n") ? "\n" : "";
  writeFileSync(path, `${existing}${sep}${masterKeyId(key)} ${key.toString("base64")}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return key;
}
