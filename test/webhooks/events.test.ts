import { afterAll, beforeAll, expect, test } from "bun:test";
import OpenAI, { toFile } from "openai";
import { startRelay, userWithKey, type Harness } from "../support/harness";
import { startObjectsMock, type ObjectsMock } from "../support/mock-objects";
import { api, startReceiver, until, verifyOpenAI, verifyStandard } from "./support";

/**
 * End to end: work that finishes later is announced when it ends. A background response and a batch
 * end upstream; the poller (and the client's own GET) see it, and the endpoint receives one signed,
 * thin event per object, `response.completed` and `batch.completed`, verified with standardwebhooks
 * and with the openai client. An event the endpoint did not subscribe to is not sent.
 */
const T = 30_000;
const MODEL = "gpt-events";
let h: Harness;
let mock: ObjectsMock;
let receiver: ReturnType<typeof startReceiver>;
let client: OpenAI;
let key: string;
let secret: string;

beforeAll(async () => {
  h = await startRelay({ RELAY_WEBHOOK_ALLOW_PRIVATE: "true", RELAY_POLL_INTERVAL_MS: "100", RELAY_BATCH_POLL_INTERVAL_MS: "100" });
  mock = startObjectsMock("ev");
  receiver = startReceiver();
  await h.admin.channels.create({ name: "ev", baseUrl: `${mock.url}/v1`, apiKey: "sk-ev", models: [MODEL] });
  await h.admin.prices.set(MODEL, { inputPerMTok: 1_000_000, outputPerMTok: 1_000_000 });
  key = (await userWithKey(h, "eve", { credits: 100_000 })).key;
  client = new OpenAI({ apiKey: key, baseURL: `${h.url}/v1`, maxRetries: 0 });
  const created = await api(h, key, "POST", "/v1/webhooks", { url: receiver.url, events: ["response.completed", "response.failed", "batch.completed"] });
  expect(created.status).toBe(201);
  secret = created.body.secret;
}, T);
afterAll(async () => {
  await h.close();
  await mock.stop();
  receiver.stop();
});

const eventsFor = (id: string) => receiver.got.filter((r) => JSON.parse(r.body).data?.id === id);

test("a background response that completes is announced once, signed, with a thin payload", async () => {
  const r = await client.responses.create({ model: MODEL, input: "later", background: true, max_output_tokens: 50 });
  mock.finish(r.id, "completed", { input_tokens: 4, output_tokens: 2 });
  await Promise.all([client.responses.retrieve(r.id), client.responses.retrieve(r.id)]); // the client looks too
  await until(() => eventsFor(r.id).length > 0, "the response.completed delivery");
  await Bun.sleep(500); // more poller passes and sender ticks: nothing more
  const got = eventsFor(r.id);
  expect(got).toHaveLength(1);
  const event = verifyStandard(secret, got[0]!);
  expect(event).toEqual({ id: expect.any(String), object: "event", type: "response.completed", created_at: expect.any(Number), data: { id: r.id } });
  expect((await verifyOpenAI(secret, got[0]!)).type).toBe("response.completed");
  expect(got[0]!.headers["webhook-id"]).toBe(event.id as string);
}, T);

test("a batch that completes is announced once; a cancelled response (not subscribed) is not", async () => {
  const line = JSON.stringify({ custom_id: "a", method: "POST", url: "/v1/chat/completions", body: { model: MODEL, messages: [{ role: "user", content: "x" }], max_tokens: 10 } });
  const file = await client.files.create({ file: await toFile(Buffer.from(line + "\n"), "in.jsonl"), purpose: "batch" });
  const b = await client.batches.create({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h" });
  const cancelled = await client.responses.create({ model: MODEL, input: "never mind", background: true, max_output_tokens: 50 });
  mock.finishBatch(b.id, "completed");
  mock.finish(cancelled.id, "cancelled", null);
  await until(() => eventsFor(b.id).length > 0, "the batch.completed delivery");
  await until(async () => (await client.responses.retrieve(cancelled.id)).status === "cancelled", "the cancelled response");
  await Bun.sleep(500);
  expect(eventsFor(b.id).map((r) => JSON.parse(r.body).type)).toEqual(["batch.completed"]);
  expect(verifyStandard(secret, eventsFor(b.id)[0]!).type).toBe("batch.completed");
  expect(eventsFor(cancelled.id)).toEqual([]);
}, T);
