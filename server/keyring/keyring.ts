import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";

/**
 * AES-256-GCM envelope for secrets at rest. Each ciphertext is `v1.<master key id>.<base64url(nonce|ciphertext|tag)>`,
 * made with a fresh 96-bit nonce and additional authenticated data that binds it to its row, so a value copied
 * to another row, a flipped bit or a truncation fails to decrypt instead of yielding garbage.
 */
export class KeyringError extends Error {
  override name = "KeyringError";
}

const VERSION = "v1";
const NONCE = 12;
const TAG = 16;

/** A master key's id: a short fingerprint, so the id never reveals the key but tells keys apart. */
export function masterKeyId(key: Uint8Array): string {
  return "mk_" + createHash("sha256").update(key).digest("hex").slice(0, 12);
}

export class Keyring {
  private readonly keys = new Map<string, Buffer>();
  private current: string | null = null;

  add(key: Uint8Array): string {
    if (key.length !== 32) throw new KeyringError("a master key must be exactly 32 bytes");
    const id = masterKeyId(key);
    this.keys.set(id, Buffer.from(key));
    return id;
  }

  has(id: string): boolean {
    return this.keys.has(id);
  }

  ids(): string[] {
    return [...this.keys.keys()];
  }

  setCurrent(id: string): void {
    if (!this.keys.has(id)) throw new KeyringError(`unknown master key ${id}`);
    this.current = id;
  }

  currentId(): string {
    if (!this.current) throw new KeyringError("keyring has no current master key");
    return this.current;
  }

  encrypt(plaintext: string, aad: string): string {
    const id = this.currentId();
    const nonce = randomBytes(NONCE);
    const cipher = createCipheriv("aes-256-gcm", this.keys.get(id)!, nonce);
    cipher.setAAD(Buffer.from(aad, "utf8"));
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    const blob = Buffer.concat([nonce, body, cipher.getAuthTag()]);
    return `${VERSION}.${id}.${blob.toString("base64url")}`;
  }

  decrypt(ciphertext: string, aad: string): string {
    const parts = ciphertext.split(".");
    if (parts.length !== 3 || parts[0] !== VERSION) throw new KeyringError("malformed ciphertext");
    const [, id, data] = parts as [string, string, string];
    const key = this.keys.get(id);
    // Fail closed: a ciphertext made by a key we do not hold is an error, never a fallback to another key.
    if (!key) throw new KeyringError(`ciphertext was made by unknown master key ${id}`);
    const blob = Buffer.from(data, "base64url");
    if (blob.length < NONCE + TAG) throw new KeyringError("truncated ciphertext");
    try {
      const decipher = createDecipheriv("aes-256-gcm", key, blob.subarray(0, NONCE));
      decipher.setAAD(Buffer.from(aad, "utf8"));
      decipher.setAuthTag(blob.subarray(blob.length - TAG));
      return Buffer.concat([decipher.update(blob.subarray(NONCE, blob.length - TAG)), decipher.final()]).toString("utf8");
    } catch {
      throw new KeyringError("ciphertext failed authentication (tampered, truncated or bound to another row)");
    }
  }

  /** The master key id a ciphertext names, without decrypting it. */
  static keyIdOf(ciphertext: string): string | null {
    const parts = ciphertext.split(".");
    return parts.length === 3 ? parts[1]! : null;
  }
}
