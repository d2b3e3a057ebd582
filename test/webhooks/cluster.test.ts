import { afterAll, beforeAll, expect, test } from "bun:test";
import { modeEnv, startRelay, userWithKey, type Harness } from "../support/harness";
import { emitEvent } from "../../server/webhooks/emit";
import { api, startReceiver, until } from "./support";

/**
 * Cluster mode, whatever RELAY_TEST_MODE says: three instances on one PostgreSQL database (and Redis), all
 * sending. Each delivery is leased by one instance at a time, so a receiver that always answers 200 gets
 * every event exactly once, however the instances race for the queue.
 */
let drop: () => Promise<void>;
const relays: Harness[] = [];
const rx = startReceiver([200]);
beforeAll(async () => {
  const mode = await modeEnv("cluster");
  drop = mode.drop;
  const env = { ...mode.env, RELAY_WEBHOOK_ALLOW_PRIVATE: "true", RELAY_WEBHOOK_RETRY_BASE_MS: "20" };
  for (let i = 0; i < 3; i++) relays.push(await startRelay(env));
}, 60_000);
afterAll(async () => {
  rx.stop();
  for (const r of relays) await r.close();
  await drop();
});

test("three instances deliver 60 events, each exactly once", async () => {
  const [a] = relays;
  const key = (await userWithKey(a!, "ivy")).key;
  const accountId = (await a!.admin.users.get("ivy")).accountId;
  await api(a!, key, "POST", "/v1/webhooks", { url: rx.url, events: ["batch.completed"] });
  // Queued through every instance, so each one is nudged and races the others for the same rows.
  await Promise.all(Array.from({ length: 60 }, (_, i) => emitEvent(relays[i % 3]!.ctx, accountId, "batch.completed", `batch_${i}`)));
  await until(async () => (await a!.admin.webhooks.deliveries({ limit: 100 })).data.filter((d: any) => d.status === "delivered").length === 60, "all delivered");
  const ids = rx.got.map((r) => r.headers["webhook-id"]);
  expect(ids).toHaveLength(60);
  expect(new Set(ids).size).toBe(60);
  expect((await a!.admin.webhooks.deliveries({ limit: 100 })).data.every((d: any) => d.attempts === 1)).toBe(true);
});
