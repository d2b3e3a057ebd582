import type { Config } from "../config";
import { Keyring, KeyringError } from "../keyring/keyring";
import { readMasterKeyFile } from "../keyring/master-key-file";
import { channelAad, keyAad, webhookAad } from "../keyring/aad";
import { SESSION_SECRET_AAD, SESSION_SECRET_SETTING } from "../sessions/secret";
import { DatabaseRefused } from "./configured";
import type { Row } from "./rows";

/*
 * A dump keeps secrets as the keyring ciphertexts the database holds (api keys, channel keys, the session
 * secret), never in the clear: whoever holds a dump holds nothing usable without the master key. The
 * target must therefore run with the same master key; an import proves it before writing anything by
 * decrypting one ciphertext per master key id the dump names, with the keys the target's relay will load.
 */

/** The settings row naming the master key new secrets are sealed with (keyring/setup.ts). */
const KEYRING_CURRENT = "keyring.current";

/** Where a ciphertext that names no key is kept: trying it reports it as damaged. */
const MALFORMED = "(malformed)";

type Sealed = { ciphertext: string; aad: string; what: string };

/** The tables whose rows hold ciphertexts (see sealedIn). */
export const SEALED_TABLES = ["channels", "api_keys", "settings", "webhooks"];

/** The ciphertext a dump row holds, with the AAD it is bound to. */
function sealedIn(table: string, r: Row): Sealed | null {
  if (table === "channels" && typeof r.api_key_ciphertext === "string") return { ciphertext: r.api_key_ciphertext, aad: channelAad(Number(r.id)), what: `channel ${r.id}` };
  if (table === "api_keys" && typeof r.ciphertext === "string") return { ciphertext: r.ciphertext, aad: keyAad(Number(r.id), Number(r.account_id)), what: `key ${r.id}` };
  if (table === "webhooks" && typeof r.secret_ciphertext === "string") return { ciphertext: r.secret_ciphertext, aad: webhookAad(Number(r.id)), what: `webhook ${r.id}` };
  if (table === "settings" && r.key === SESSION_SECRET_SETTING && typeof r.value === "string") return { ciphertext: r.value, aad: SESSION_SECRET_AAD, what: "the session secret" };
  return null;
}

/** Collects, row by row, the master keys a dump needs and one ciphertext of each to try. */
export class SecretSamples {
  private readonly samples = new Map<string, Sealed>();
  private current: string | null = null;
  count = 0;

  add(table: string, r: Row): void {
    if (table === "settings" && r.key === KEYRING_CURRENT && typeof r.value === "string") this.current = r.value;
    const s = sealedIn(table, r);
    if (!s) return;
    this.count++;
    const id = Keyring.keyIdOf(s.ciphertext) ?? MALFORMED;
    if (!this.samples.has(id)) this.samples.set(id, s);
  }

  /** Every master key id named: by a ciphertext, or as the current key. */
  keyIds(): string[] {
    return [...new Set([...this.samples.keys(), ...(this.current ? [this.current] : [])])].filter((id) => id !== MALFORMED).sort();
  }

  /** Throws DatabaseRefused unless `ring` holds every key and opens one ciphertext of each. */
  verify(ring: Keyring): void {
    const missing = this.keyIds().filter((id) => !ring.has(id));
    if (missing.length) {
      throw new DatabaseRefused(
        `the dump's secrets are sealed with master key ${missing.join(", ")}, which this relay does not have ` +
          `(it has: ${ring.ids().join(", ") || "none"}): give it the source's RELAY_MASTER_KEY (or the source's master.key in RELAY_DATA_DIR) and import again`,
      );
    }
    for (const s of this.samples.values()) {
      try {
        ring.decrypt(s.ciphertext, s.aad);
      } catch (e) {
        if (!(e instanceof KeyringError)) throw e;
        throw new DatabaseRefused(`${s.what}'s ciphertext does not decrypt with this relay's master key (${e.message}); the dump is damaged or was edited`);
      }
    }
  }
}

/**
 * The keys a relay with this configuration loads (RELAY_MASTER_KEY and the master key file), without
 * creating either. A cluster reads no file (keyring/setup.ts), so neither does its check here.
 */
export function configuredKeyring(config: Config): Keyring {
  const ring = new Keyring();
  if (config.RELAY_MASTER_KEY) ring.add(Buffer.from(config.RELAY_MASTER_KEY, "base64"));
  if ((config as { mode?: string }).mode !== "cluster") for (const k of readMasterKeyFile(config.masterKeyPath)) ring.add(k);
  return ring;
}
