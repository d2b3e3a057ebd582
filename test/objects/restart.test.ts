import { afterAll, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import OpenAI, { toFile } from "openai";
import { spawnRelay, tempDataDir, ledgerViolations, until, type ChildRelay } from "../support/limits-helpers";
import { startObjectsMock } from "../support/mock-objects";
import { Database } from "bun:sqlite";
import { join } from "node:path";

/**
 * The poller's state is the database: a relay killed (-9) in the middle of a batch and of a background
 * response settles both once it is back, exactly once, and the ledger balances.
 */
const T = 60_000;
const MODEL = "gpt-restart";
const mock = startObjectsMock("restart");
const dataDir = tempDataDir();
let relay: ChildRelay | null = null;
afterAll(async () => {
  await relay?.stop();
  await mock.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const env = { RELAY_POLL_INTERVAL_MS: "100", RELAY_BATCH_POLL_INTERVAL_MS: "100" };
const refundsOf = (ref: string) => {
  const db = new Database(join(dataDir, "relay.db"), { readonly: true });
  try {
    return db.query<{ amount: number }, [string]>("SELECT amount FROM ledger WHERE kind = 'refund' AND ref = ?").all(ref).map((r) => r.amount);
  } finally {
    db.close();
  }
};

test("a batch and a background response pending across a kill -9 are settled once after the restart", async () => {
  relay = await spawnRelay(dataDir, env);
  await relay.admin.channels.create({ name: "up", baseUrl: `${mock.url}/v1`, apiKey: "sk-up", models: [MODEL] });
  await relay.admin.prices.set(MODEL, { inputPerMTok: 1_000_000, outputPerMTok: 1_000_000 });
  await relay.admin.users.create({ name: "rae", credits: 100_000 });
  const key = (await relay.admin.keys.create({ user: "rae", label: "r" })).key as string;
  const client = new OpenAI({ apiKey: key, baseURL: `${relay.url}/v1`, maxRetries: 0 });
  const lines = [0, 1].map((i) => JSON.stringify({ custom_id: `c${i}`, method: "POST", url: "/v1/chat/completions", body: { model: MODEL, messages: [{ role: "user", content: "x" }], max_tokens: 100 } }));
  const file = await client.files.create({ file: await toFile(Buffer.from(lines.join("\n")), "in.jsonl"), purpose: "batch" });
  const batch = await client.batches.create({ input_file_id: file.id, endpoint: "/v1/chat/completions", completion_window: "24h" });
  const response = await client.responses.create({ model: MODEL, input: "later", background: true, max_output_tokens: 100 });
  const prepaid = 100_000 - ((await relay.admin.users.get("rae")).balance as number);
  expect(prepaid).toBeGreaterThan(200); // both worst cases: the batch's 2 × 100 output tokens at half price, the response's 100

  await relay.kill9();
  // Both end while relay is down.
  mock.finishBatch(batch.id, "completed", { usage: { prompt_tokens: 10, completion_tokens: 20 } });
  mock.finish(response.id, "completed", { input_tokens: 5, output_tokens: 3 });
  relay = await spawnRelay(dataDir, env);
  await until(() => refundsOf(`refund:batch:${batch.id}`).length === 1 && refundsOf(`refund:response:${response.id}`).length === 1, "both refunds");
  await Bun.sleep(400); // more poller passes: nothing more
  expect(refundsOf(`refund:batch:${batch.id}`)).toHaveLength(1);
  expect(refundsOf(`refund:response:${response.id}`)).toHaveLength(1);
  // Batch: 2 × (10 + 20) tokens at half a credit each; response: 8 tokens at a credit each.
  expect((await relay.admin.users.get("rae")).balance).toBe(100_000 - 30 - 8);
  await relay.stop();
  relay = null;
  expect(await ledgerViolations(new Database(join(dataDir, "relay.db"), { readonly: true }))).toEqual([]);
}, T);
