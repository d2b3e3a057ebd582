import { afterAll, expect, test } from "bun:test";
import { userWithKey } from "../support/harness";
import { emitEvent } from "../../server/webhooks/emit";
import { api, restartableRelay, startReceiver, until, verifyStandard } from "./support";

/**
 * Deliveries live in the database: a relay stopped with one pending carries it on when it starts again
 * on the same data dir (and database), with the same webhook-id. And the SSRF rule holds at every
 * attempt, not only at create: a relay that no longer allows private addresses refuses to send to one,
 * and logs the refusal as a failed attempt.
 */
const relay = await restartableRelay();
afterAll(() => relay.drop());

test("a pending delivery survives a restart and is delivered after it", async () => {
  const rx = startReceiver([503]);
  const env = { RELAY_WEBHOOK_ALLOW_PRIVATE: "true", RELAY_WEBHOOK_RETRY_BASE_MS: "200" };
  try {
    let h = await relay.start(env);
    const key = (await userWithKey(h, "frank")).key;
    const w = (await api(h, key, "POST", "/v1/webhooks", { url: rx.url, events: ["response.incomplete"] })).body;
    await emitEvent(h.ctx, (await h.admin.users.get("frank")).accountId, "response.incomplete", "resp_restart");
    await until(() => rx.got.length >= 1, "a first, failed attempt");
    await h.close();
    const seen = rx.got.length;
    rx.setScript([200]);

    h = await relay.start(env);
    try {
      await until(async () => (await h.admin.webhooks.deliveries({ webhook: w.id })).data[0]?.status === "delivered", "delivered after the restart");
      expect(rx.got.length).toBe(seen + 1);
      expect(new Set(rx.got.map((r) => r.headers["webhook-id"])).size).toBe(1);
      expect(verifyStandard(w.secret, rx.got.at(-1)!)).toMatchObject({ type: "response.incomplete", data: { id: "resp_restart" } });
    } finally {
      await h.close();
    }
  } finally {
    rx.stop();
  }
});

test("before every attempt the URL is checked again: without RELAY_WEBHOOK_ALLOW_PRIVATE a loopback receiver gets nothing", async () => {
  const rx = startReceiver([503]);
  try {
    let h = await relay.start({ RELAY_WEBHOOK_ALLOW_PRIVATE: "true", RELAY_WEBHOOK_RETRY_BASE_MS: "200" });
    const key = (await userWithKey(h, "gina")).key;
    const w = (await api(h, key, "POST", "/v1/webhooks", { url: rx.url, events: ["batch.completed"] })).body;
    await emitEvent(h.ctx, (await h.admin.users.get("gina")).accountId, "batch.completed", "batch_ssrf");
    await until(() => rx.got.length >= 1, "a first attempt while private addresses are allowed");
    await h.close();
    const seen = rx.got.length;

    h = await relay.start({ RELAY_WEBHOOK_RETRY_BASE_MS: "200" });
    try {
      const [d] = (await h.admin.webhooks.deliveries({ webhook: w.id })).data;
      await until(async () => (await h.admin.webhooks.attempts(d.id)).data.some((a: any) => a.error?.startsWith("refused:")), "a refused attempt");
      const refused = (await h.admin.webhooks.attempts(d.id)).data.find((a: any) => a.error?.startsWith("refused:"));
      expect(refused).toMatchObject({ status: null });
      expect(refused!.error).toContain("127.0.0.1 is a loopback address");
      expect(rx.got.length).toBe(seen);
    } finally {
      await h.close();
    }
  } finally {
    rx.stop();
  }
});
