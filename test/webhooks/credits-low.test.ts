import { afterAll, beforeAll, expect, test } from "bun:test";
import { startRelay, userWithKey, type Harness } from "../support/harness";
import { api, startReceiver, until, verifyStandard } from "./support";

/**
 * credits.low through a real relay: admin adjustments move the balance, the periodic check sends the
 * event once when it falls below the endpoint's threshold, and once more only after it was back at the
 * threshold or above and fell again.
 */
let h: Harness;
const rx = startReceiver();
beforeAll(async () => {
  h = await startRelay({ RELAY_WEBHOOK_ALLOW_PRIVATE: "true", RELAY_WEBHOOK_RETRY_BASE_MS: "50" });
});
afterAll(async () => {
  rx.stop();
  await h.close();
});

const lows = () => rx.got.map((r) => JSON.parse(r.body)).filter((b) => b.type === "credits.low");
/** Runs two checks (besides the relay's own, every second) and returns what is queued for the endpoint then. */
const afterTwoChecks = async (webhook: number) => {
  await h.ctx.webhooks.credits.check();
  await h.ctx.webhooks.credits.check();
  return (await h.admin.webhooks.deliveries({ webhook })).data.length;
};

test("sent once when an adjustment takes the available balance below credits_below, again only after it rose back", async () => {
  const key = (await userWithKey(h, "hank", { credits: 100 })).key;
  const accountId = (await h.admin.users.get("hank")).accountId;
  const w = (await api(h, key, "POST", "/v1/webhooks", { url: rx.url, events: ["credits.low"], credits_below: 50 })).body;
  expect(await afterTwoChecks(w.id)).toBe(0); // 100 is not below 50: nothing

  await h.admin.credits.grant("hank", { amount: -60, note: "adjust" }); // 40
  await until(() => lows().length === 1, "credits.low");
  expect(lows()[0]).toMatchObject({ object: "event", type: "credits.low", data: { id: `acct_${accountId}`, available: 40, credits_below: 50 } });
  expect(verifyStandard(w.secret, rx.got.at(-1)!)).toMatchObject({ type: "credits.low" });

  await h.admin.credits.grant("hank", { amount: -10 }); // 30: still below, already sent
  expect(await afterTwoChecks(w.id)).toBe(1);

  await h.admin.credits.grant("hank", { amount: 20 }); // 50: at the threshold, re-armed
  expect(await afterTwoChecks(w.id)).toBe(1);
  await h.admin.credits.grant("hank", { amount: -1 }); // 49: below again
  await until(() => lows().length === 2, "a second credits.low");
  expect(lows()[1].data).toEqual({ id: `acct_${accountId}`, available: 49, credits_below: 50 });
  expect(lows()[1].id).not.toBe(lows()[0].id);
});
