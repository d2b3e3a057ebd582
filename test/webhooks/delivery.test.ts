import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { startRelay, userWithKey, type Harness } from "../support/harness";
import { emitEvent } from "../../server/webhooks/emit";
import { Keyring } from "../../server/keyring/keyring";
import { api, startReceiver, until, verifyOpenAI, verifyStandard } from "./support";

/**
 * Deliveries from a real relay to a real receiver on loopback. Events are queued with emitEvent on the
 * relay's own context (in this process): what the object settler will call. Every delivery is verified
 * the way receivers do, with the `standardwebhooks` package and the openai client's `webhooks.unwrap`.
 */
let h: Harness;
let key: string;
let accountId: number;
beforeAll(async () => {
  h = await startRelay({ RELAY_WEBHOOK_ALLOW_PRIVATE: "true", RELAY_WEBHOOK_RETRY_BASE_MS: "50" });
  key = (await userWithKey(h, "dana")).key;
  accountId = (await h.admin.users.get("dana")).accountId;
});
afterAll(() => h.close());

const register = async (url: string, events: string[]) => {
  const r = await api(h, key, "POST", "/v1/webhooks", { url, events });
  expect(r.status).toBe(201);
  return r.body as { id: number; secret: string };
};
const deliveriesOf = async (webhook: number) => (await h.admin.webhooks.deliveries({ webhook })).data;

describe("a delivery", () => {
  test("is signed as Standard Webhooks say, verifies with standardwebhooks and openai's unwrap, and is thin", async () => {
    const rx = startReceiver();
    try {
      const w = await register(rx.url, ["response.completed"]);
      await emitEvent(h.ctx, accountId, "response.completed", "resp_abc123");
      await until(() => rx.got.length === 1, "the delivery");
      const r = rx.got[0]!;
      expect(r.headers["content-type"]).toBe("application/json");
      expect(r.headers["webhook-id"]).toMatch(/^evt_[0-9a-f]{32}$/);
      expect(r.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
      const body = JSON.parse(r.body);
      expect(body).toEqual({ id: r.headers["webhook-id"], object: "event", type: "response.completed", created_at: Number(r.headers["webhook-timestamp"]), data: { id: "resp_abc123" } });
      expect(Math.abs(body.created_at - Date.now() / 1000)).toBeLessThan(300);
      expect(verifyStandard(w.secret, r)).toEqual(body);
      expect(await verifyOpenAI(w.secret, r)).toEqual(body);
      // Another secret, or a body changed in transit, does not verify.
      const other = (await register(rx.url, ["batch.expired"])).secret;
      expect(() => verifyStandard(other, r)).toThrow();
      await expect(verifyOpenAI(other, r)).rejects.toThrow();
      expect(() => verifyStandard(w.secret, { ...r, body: r.body.replace("resp_abc123", "resp_abc124") })).toThrow();
      await until(async () => (await deliveriesOf(w.id))[0]?.status === "delivered", "delivered in the log");
      expect(await deliveriesOf(w.id)).toMatchObject([{ status: "delivered", attempts: 1, last_status: 200, last_error: null, type: "response.completed", object_id: "resp_abc123", url: rx.url }]);
    } finally {
      rx.stop();
    }
  });

  test("is queued once per (endpoint, type, object), only for subscribed enabled endpoints", async () => {
    const rx = startReceiver();
    try {
      const a = await register(rx.url, ["batch.completed", "batch.failed"]);
      const b = await register(rx.url, ["batch.failed"]);
      await emitEvent(h.ctx, accountId, "batch.completed", "batch_1");
      await emitEvent(h.ctx, accountId, "batch.completed", "batch_1"); // the caller retried after a crash
      await emitEvent(h.ctx, accountId, "batch.failed", "batch_1");
      await until(async () => (await deliveriesOf(a.id)).length === 2 && (await deliveriesOf(b.id)).length === 1 && rx.got.length === 3, "three deliveries");
      expect((await deliveriesOf(a.id)).map((d: any) => d.type).sort()).toEqual(["batch.completed", "batch.failed"]);
      expect((await deliveriesOf(b.id)).map((d: any) => d.type)).toEqual(["batch.failed"]);
      // An account with no endpoint: nothing is queued, and nothing is thrown.
      const before = (await h.admin.webhooks.deliveries({ limit: 1000 })).data.length;
      await emitEvent(h.ctx, 987654, "batch.completed", "batch_2");
      expect((await h.admin.webhooks.deliveries({ limit: 1000 })).data.length).toBe(before);
    } finally {
      rx.stop();
    }
  });

  test("is retried after a failure (503, then a 302 that is not followed, then 200) with the same webhook-id, every attempt logged", async () => {
    const rx = startReceiver([503, 302, 200]);
    try {
      const w = await register(rx.url, ["response.failed"]);
      await emitEvent(h.ctx, accountId, "response.failed", "resp_retry");
      await until(async () => (await deliveriesOf(w.id))[0]?.status === "delivered", "delivered after retries");
      expect(rx.got).toHaveLength(3);
      expect(new Set(rx.got.map((r) => r.headers["webhook-id"])).size).toBe(1);
      expect(new Set(rx.got.map((r) => r.body)).size).toBe(1);
      for (const r of rx.got) expect(verifyStandard(w.secret, r)).toMatchObject({ type: "response.failed" });
      const [d] = await deliveriesOf(w.id);
      expect(d).toMatchObject({ attempts: 3, last_status: 200 });
      const attempts = (await h.admin.webhooks.attempts(d.id)).data;
      expect(attempts.map((a: any) => a.status)).toEqual([503, 302, 200]);
      expect(attempts[0].error).toBe("HTTP 503");
      expect(attempts[1].error).toContain("redirects are not followed");
      expect(attempts[2].error).toBeNull();
      for (const a of attempts) expect(typeof a.duration_ms).toBe("number");
    } finally {
      rx.stop();
    }
  });

  test("after a rotation carries two signatures: the old and the new secret both verify", async () => {
    const rx = startReceiver();
    try {
      const w = await register(rx.url, ["batch.cancelled"]);
      const rotated = (await api(h, key, "POST", `/v1/webhooks/${w.id}/rotate`)).body.secret as string;
      await emitEvent(h.ctx, accountId, "batch.cancelled", "batch_rot");
      await until(() => rx.got.length === 1, "the delivery");
      const r = rx.got[0]!;
      expect(r.headers["webhook-signature"]!.split(" ")).toHaveLength(2);
      for (const secret of [w.secret, rotated]) {
        expect(verifyStandard(secret, r)).toMatchObject({ data: { id: "batch_rot" } });
        expect(await verifyOpenAI(secret, r)).toMatchObject({ data: { id: "batch_rot" } });
      }
    } finally {
      rx.stop();
    }
  });
});

describe("master-key rotation", () => {
  test("re-encrypts webhook secrets (current and previous): deliveries still verify with both", async () => {
    const rx = startReceiver();
    try {
      const w = await register(rx.url, ["response.cancelled"]);
      const rotated = (await api(h, key, "POST", `/v1/webhooks/${w.id}/rotate`)).body.secret as string;
      const r = await h.admin.rotateMasterKey();
      expect(r.reencrypted).toBeGreaterThanOrEqual(1);
      const row = (await h.ctx.stores.webhooks.get(w.id))!;
      expect([Keyring.keyIdOf(row.secretCiphertext), Keyring.keyIdOf(row.previousSecretCiphertext!)]).toEqual([r.current, r.current]);
      await emitEvent(h.ctx, accountId, "response.cancelled", "resp_mk");
      await until(() => rx.got.length === 1, "the delivery");
      expect(verifyStandard(w.secret, rx.got[0]!)).toMatchObject({ data: { id: "resp_mk" } });
      expect(verifyStandard(rotated, rx.got[0]!)).toMatchObject({ data: { id: "resp_mk" } });
    } finally {
      rx.stop();
    }
  });
});

describe("giving up", () => {
  test("a delivery failing for the whole retry window fails, and its endpoint is disabled (audited)", async () => {
    const short = await startRelay({ RELAY_WEBHOOK_ALLOW_PRIVATE: "true", RELAY_WEBHOOK_RETRY_BASE_MS: "20", RELAY_WEBHOOK_RETRY_FOR_MS: "300" });
    const rx = startReceiver([500]);
    try {
      const k = (await userWithKey(short, "erin")).key;
      const w = (await api(short, k, "POST", "/v1/webhooks", { url: rx.url, events: ["batch.expired"] })).body;
      await emitEvent(short.ctx, (await short.admin.users.get("erin")).accountId, "batch.expired", "batch_gone");
      await until(async () => (await short.admin.webhooks.deliveries({ webhook: w.id })).data[0]?.status === "failed", "given up");
      const [d] = (await short.admin.webhooks.deliveries({ webhook: w.id })).data;
      expect(d.attempts).toBeGreaterThan(1);
      expect(d.attempts).toBe(rx.got.length);
      const [listed] = (await api(short, k, "GET", "/v1/webhooks")).body.data;
      expect(listed.enabled).toBe(false);
      expect(listed.disabled_reason).toContain("HTTP 500");
      expect((await short.admin.audit()).data.some((a: any) => a.action === "webhook.disable" && a.target === `webhook:${w.id}`)).toBe(true);
      // A disabled endpoint gets nothing more.
      await emitEvent(short.ctx, (await short.admin.users.get("erin")).accountId, "batch.expired", "batch_next");
      expect((await short.admin.webhooks.deliveries({ webhook: w.id })).data).toHaveLength(1);
    } finally {
      rx.stop();
      await short.close();
    }
  });
});
