import { describe, expect, test } from "bun:test";
import { randomBytes } from "node:crypto";
import { Keyring, KeyringError } from "../server/keyring/keyring";

function ring() {
  const r = new Keyring();
  r.setCurrent(r.add(randomBytes(32)));
  return r;
}

describe("keyring", () => {
  test("round-trips with the right AAD", () => {
    const r = ring();
    const c = r.encrypt("secret value", "api_key:1:1");
    expect(c).not.toContain("secret");
    expect(r.decrypt(c, "api_key:1:1")).toBe("secret value");
  });

  test("a fresh nonce every time", () => {
    const r = ring();
    expect(r.encrypt("x", "a")).not.toBe(r.encrypt("x", "a"));
  });

  test("ciphertext copied onto another row fails", () => {
    const r = ring();
    const c = r.encrypt("secret", "api_key:1:1");
    expect(() => r.decrypt(c, "api_key:2:1")).toThrow(KeyringError);
    expect(() => r.decrypt(c, "api_key:1:2")).toThrow(KeyringError);
  });

  test("every flipped bit fails", () => {
    const r = ring();
    const c = r.encrypt("secret", "aad");
    const [v, id, data] = c.split(".");
    const blob = Buffer.from(data!, "base64url");
    for (let i = 0; i < blob.length * 8; i++) {
      const t = Buffer.from(blob);
      t[i >> 3]! ^= 1 << (i & 7);
      expect(() => r.decrypt(`${v}.${id}.${t.toString("base64url")}`, "aad")).toThrow(KeyringError);
    }
  });

  test("truncation fails", () => {
    const r = ring();
    const c = r.encrypt("secret", "aad");
    for (let n = 1; n < c.length; n += 3) expect(() => r.decrypt(c.slice(0, c.length - n), "aad")).toThrow(KeyringError);
  });

  test("an unknown master key id fails closed", () => {
    const a = ring();
    const b = ring();
    expect(() => b.decrypt(a.encrypt("secret", "aad"), "aad")).toThrow(/unknown master key/);
  });

  test("old keys keep decrypting after a new current key is added", () => {
    const r = ring();
    const old = r.encrypt("secret", "aad");
    r.setCurrent(r.add(randomBytes(32)));
    expect(r.decrypt(old, "aad")).toBe("secret");
    expect(Keyring.keyIdOf(r.encrypt("s", "aad"))).toBe(r.currentId());
  });
});
