import { afterAll, beforeAll, expect, test } from "bun:test";
import { startRelay, userWithKey, type Harness } from "../support/harness";
import { WebhooksView } from "../../tui/views/webhooks-view";
import { emitEvent } from "../../server/webhooks/emit";
import { api, startReceiver, until } from "../webhooks/support";
import { KEY, renderView } from "./support";

let h: Harness;
const rx = startReceiver([503, 200]);
beforeAll(async () => {
  h = await startRelay({ RELAY_WEBHOOK_ALLOW_PRIVATE: "true", RELAY_WEBHOOK_RETRY_BASE_MS: "100" });
  const key = (await userWithKey(h, "tina")).key;
  await api(h, key, "POST", "/v1/webhooks", { url: rx.url, events: ["batch.completed"] });
  await emitEvent(h.ctx, (await h.admin.users.get("tina")).accountId, "batch.completed", "batch_tui");
});
afterAll(async () => {
  rx.stop();
  await h.close();
});

test("lists deliveries with url, type, object, status, attempts and the last result, live; opens one", async () => {
  const v = renderView(<WebhooksView api={h.admin} active width={140} height={14} pollMs={50} />);
  await until(() => rx.got.length === 2, "delivered on the second attempt");
  const f = await v.waitFrame(/batch\.completed\s+batch_tui\s+delivered\s+2\s+200/);
  expect(f).toContain("Webhook deliveries");
  expect(f).toContain("127.0.0.1");
  await v.press(KEY.enter);
  const d = await v.waitFrame("Delivery #");
  expect(d).toMatch(/event id\s+evt_/);
  expect(d).toMatch(/attempts\s+2/);
  v.unmount();
});
