import { expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { loadConfig } from "../server/config";
import { startServer } from "../server/serve";
import { AdminClient } from "../tui/client";
import { bearer, startRelay, userWithKey } from "./support/harness";

test("master-key rotate re-encrypts every secret; keys keep working across a restart", async () => {
  const h = await startRelay();
  const k = await userWithKey(h, "rot");
  const ch = await h.admin.channels.create({ name: "c", baseUrl: "http://127.0.0.1:9/v1", apiKey: "sk-upstream-rot", models: ["m"] });
  const before = (await h.admin.health()).masterKeyId;
  const r = await h.admin.rotateMasterKey();
  expect(r.previous).toBe(before);
  expect(r.current).not.toBe(before);
  expect(r.reencrypted).toBe(2);
  expect((await h.admin.keys.reveal(k.keyId)).key).toBe(k.key);
  expect((await h.admin.channels.reveal(ch.id)).apiKey).toBe("sk-upstream-rot");
  expect((await fetch(`${h.url}/v1/me`, { headers: bearer(k.key) })).status).toBe(200);

  const db = new Database(join(h.dataDir, "relay.db"), { readonly: true });
  for (const row of db.query<{ c: string }, []>("SELECT ciphertext AS c FROM api_keys UNION ALL SELECT api_key_ciphertext FROM channels").all()) {
    expect(row.c.split(".")[1]).toBe(r.current);
  }
  db.close();
  expect(readFileSync(join(h.dataDir, "master.key"), "utf8").trim().split("\n").length).toBe(2);
  const audit = (await h.admin.audit(5)).data.map((a: any) => a.action);
  expect(audit).toContain("master-key.rotate");

  // restart on the same data dir: the new current key is found in the file
  const dataDir = h.dataDir;
  await h.stop(500);
  const again = await startServer(loadConfig({ RELAY_DATA_DIR: dataDir, RELAY_PORT: "0", RELAY_LOG_LEVEL: "silent" }));
  try {
    const admin = new AdminClient(again.socketPath);
    expect((await admin.health()).masterKeyId).toBe(r.current);
    expect((await admin.keys.reveal(k.keyId)).key).toBe(k.key);
  } finally {
    await again.stop(500);
  }
});
