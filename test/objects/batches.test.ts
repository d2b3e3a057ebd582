import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI, { toFile } from "openai";
import { startRelay, userWithKey, type Harness } from "../support/harness";
import { startObjectsMock, type ObjectsMock } from "../support/mock-objects";
import { dbQuery, ledgerViolations } from "../support/limits-helpers";
import { eventually } from "../support/relay-fixture";
import { costOf, holdCostOf, batchPriceOf } from "../../server/billing/prices";
import { planOfBatchFile } from "../../server/objects/batch-plan";

/**
 * Batches: held at create at their worst case (every line's prompt bound plus its output cap) at the batch
 * price, refused 402 before any upstream call when that cannot be held, prepaid once the upstream accepts,
 * and settled exactly once from the output file's per-line usage when they end, however they end; their
 * output and error files become the account's.
 */
const MODEL = "gpt-batch";
const CHEAP = "gpt-batch-mini";
let h: Harness;
let mock: ObjectsMock;
let alice: OpenAI;
let aliceKeyId: number;
const T = 30_000;
const START = 1_000_000;

beforeAll(async () => {
  h = await startRelay({ RELAY_POLL_INTERVAL_MS: "100", RELAY_BATCH_POLL_INTERVAL_MS: "150" });
  mock = startObjectsMock("batch");
  await h.admin.channels.create({ name: "batch", baseUrl: `${mock.url}/v1`, apiKey: "sk-batch", models: [MODEL, CHEAP] });
  // 200 credits per million in and out at the list price: 100 in batches (the default 50% discount).
  await h.admin.prices.set(MODEL, { inputPerMTok: 200_000_000, outputPerMTok: 400_000_000 });
  await h.admin.prices.set(CHEAP, { inputPerMTok: 10_000_000, outputPerMTok: 20_000_000, batchDiscount: 20 });
  const u = await userWithKey(h, "alice", { credits: START });
  aliceKeyId = u.keyId;
  alice = new OpenAI({ apiKey: u.key, baseURL: `${h.url}/v1`, maxRetries: 0 });
}, T);
afterAll(async () => {
  await h.close();
  await mock.stop();
});

const balance = async () => {
  await h.ctx.writer.flush();
  return (await h.admin.users.get("alice")).balance as number;
};
const refunds = async (id: string) => (await dbQuery(h, "SELECT amount FROM ledger WHERE kind = 'refund' AND ref = ?", [`refund:batch:${id}`])) as { amount: number }[];
const line = (i: number, model = MODEL, maxTokens: number | null = 100) => JSON.stringify({
  custom_id: `r${i}`, method: "POST", url: "/v1/chat/completions",
  body: { model, messages: [{ role: "user", content: `question ${i}` }], ...(maxTokens === null ? {} : { max_tokens: maxTokens }) },
});
const upload = async (lines: string[], client = alice) => client.files.create({ file: await toFile(Buffer.from(lines.join("\n") + "\n"), "in.jsonl"), purpose: "batch" });
const create = (fileId: string, client = alice) => client.batches.create({ input_file_id: fileId, endpoint: "/v1/chat/completions", completion_window: "24h" });
/** The worst case relay holds for these lines, worked out here from the same bounds and batch prices. */
const worstCaseOf = async (lines: string[]) => {
  const plan = await planOfBatchFile(new TextEncoder().encode(lines.join("\n") + "\n"));
  let credits = 0;
  for (const [model, b] of Object.entries(plan.models)) credits += holdCostOf(batchPriceOf(h.ctx.prices.get(model)), b.promptTokens, b.outputTokens);
  return credits;
};

describe("batches are held and settled", () => {
  test("create prepays the worst case at the batch price; the end settles once from the output file, while the client polls too", async () => {
    const lines = [0, 1, 2, 3].map((i) => line(i));
    const before = await balance();
    const b = await create((await upload(lines)).id);
    const prepaid = before - (await balance());
    expect(prepaid).toBe(await worstCaseOf(lines));
    // At the list price the same hold would be twice as much (the batch discount is 50%).
    const listHold = holdCostOf(h.ctx.prices.get(MODEL), (await planOfBatchFile(new TextEncoder().encode(lines.join("\n")))).models[MODEL]!.promptTokens, 400);
    expect(prepaid).toBeLessThan(listHold);
    const charge = await dbQuery(h, "SELECT amount, ref FROM ledger WHERE kind = 'charge' ORDER BY id DESC LIMIT 1") as { amount: number }[];
    expect(charge[0]!.amount).toBe(-prepaid);
    // relay admin usage shows the prepayment with the batch it paid for.
    const row = ((await h.admin.usage({ user: "alice", limit: 20 })).data as { object: string | null; cost: number; endpoint: string }[]).find((r) => r.object === `batch:${b.id}`);
    expect(row).toMatchObject({ endpoint: "/v1/batches", cost: prepaid });

    mock.finishBatch(b.id, "completed", { usage: { prompt_tokens: 12, completion_tokens: 30 }, modelSuffix: "-2026-01-01" });
    await Promise.all(Array.from({ length: 5 }, () => alice.batches.retrieve(b.id)));
    await eventually(async () => (await refunds(b.id)).length === 1, "the refund");
    await Bun.sleep(400); // more poller passes: nothing more
    // 4 lines × (12 in + 30 out) at the batch price (100 and 200 credits per million: dated names priced as held).
    const used = costOf(batchPriceOf(h.ctx.prices.get(MODEL)), { input: 48, cacheRead: 0, cacheWrite: 0, output: 120 }, false);
    expect(used).toBe(Math.ceil((48 * 100_000_000 + 120 * 200_000_000) / 1e6));
    expect((await refunds(b.id)).map((r) => r.amount)).toEqual([prepaid - used]);
    expect(await balance()).toBe(before - used);
    // relay admin credits ledger shows the prepayment and its refund under the batch's id.
    const ledger = (await h.admin.credits.ledger("alice", 10)).data as { kind: string; amount: number; object: string | null }[];
    expect(ledger.filter((r) => r.object === `batch:${b.id}`).map((r) => [r.kind, r.amount])).toEqual([["refund", prepaid - used], ["charge", -prepaid]]);
    // The output file is the account's: the client reads it through relay.
    const done = await alice.batches.retrieve(b.id);
    expect(done.status).toBe("completed");
    const out = await (await alice.files.content(done.output_file_id!)).text();
    expect(out.trim().split("\n")).toHaveLength(4);
    // The key's spend counts what the batch used, not what it prepaid.
    const [key] = await dbQuery(h, "SELECT spent FROM api_keys WHERE id = ?", [aliceKeyId]) as { spent: number }[];
    expect(Number(key!.spent)).toBe(used);
  }, T);

  test("a cancelled batch pays for the lines its output file reports and gets the rest back; a failed one with no output pays nothing", async () => {
    const lines = [0, 1, 2, 3, 4, 5].map((i) => line(i));
    const before = await balance();
    const b = await create((await upload(lines)).id);
    expect((await alice.batches.cancel(b.id)).status).toBe("cancelling");
    mock.finishBatch(b.id, "cancelled", { answered: 2, usage: { prompt_tokens: 10, completion_tokens: 10 } });
    await eventually(async () => (await refunds(b.id)).length === 1, "the cancelled batch's refund");
    const used = costOf(batchPriceOf(h.ctx.prices.get(MODEL)), { input: 20, cacheRead: 0, cacheWrite: 0, output: 20 }, false);
    expect(await balance()).toBe(before - used);

    const before2 = await balance();
    const f = await create((await upload(lines)).id);
    mock.finishBatch(f.id, "failed", { answered: 0, failed: 6 });
    await eventually(async () => (await refunds(f.id)).length === 1, "the failed batch's refund");
    expect(await balance()).toBe(before2);
    // Its error file is the account's too.
    const seen = await alice.batches.retrieve(f.id);
    expect((await (await alice.files.content(seen.error_file_id!)).text()).trim().split("\n")).toHaveLength(6);
  }, T);

  test("lines of two models are each held and settled at their own batch price", async () => {
    const lines = [line(0, MODEL, 50), line(1, CHEAP, 500), line(2, CHEAP, 500)];
    const before = await balance();
    const b = await create((await upload(lines)).id);
    expect(before - (await balance())).toBe(await worstCaseOf(lines));
    mock.finishBatch(b.id, "expired", { usage: { prompt_tokens: 7, completion_tokens: 9 } });
    await eventually(async () => (await refunds(b.id)).length === 1, "the expired batch's refund");
    const used = costOf(batchPriceOf(h.ctx.prices.get(MODEL)), { input: 7, cacheRead: 0, cacheWrite: 0, output: 9 }, false) +
      costOf(batchPriceOf(h.ctx.prices.get(CHEAP)), { input: 14, cacheRead: 0, cacheWrite: 0, output: 18 }, false);
    expect(await balance()).toBe(before - used);
  }, T);
});

describe("batches of an org member", () => {
  test("are charged to the org, and their refund gives the member's monthly spend back", async () => {
    await h.admin.users.create({ name: "mia" });
    await h.admin.orgs.create({ name: "batchco", credits: START });
    await h.admin.orgs.addMember("batchco", { user: "mia", role: "member", monthlySpend: START });
    const key = (await h.admin.keys.create({ org: "batchco", member: "mia", label: "m" })).key as string;
    const mia = new OpenAI({ apiKey: key, baseURL: `${h.url}/v1`, maxRetries: 0 });
    const lines = [0, 1].map((i) => line(i));
    const b = await create((await upload(lines, mia)).id, mia);
    mock.finishBatch(b.id, "completed", { usage: { prompt_tokens: 3, completion_tokens: 4 } });
    await eventually(async () => (await refunds(b.id)).length === 1, "the member's batch refund");
    const used = costOf(batchPriceOf(h.ctx.prices.get(MODEL)), { input: 6, cacheRead: 0, cacheWrite: 0, output: 8 }, false);
    const [spend] = await dbQuery(h, "SELECT credits FROM member_spend WHERE user_id = (SELECT id FROM users WHERE name = 'mia')") as { credits: number }[];
    expect(Number(spend!.credits)).toBe(used);
    expect(await ledgerViolations(h)).toEqual([]);
  }, T);
});

describe("batches that cannot be held", () => {
  test("a batch whose worst case passes the balance is 402 quota_exceeded before any upstream call", async () => {
    const poor = await userWithKey(h, "pat", { credits: 50 });
    const client = new OpenAI({ apiKey: poor.key, baseURL: `${h.url}/v1`, maxRetries: 0 });
    const f = await upload([0, 1, 2].map((i) => line(i, MODEL, 10_000)), client);
    const before = mock.hits.length;
    const err = await create(f.id, client).catch((e) => e);
    expect(err.status).toBe(402);
    expect(err.code).toBe("quota_exceeded");
    expect(err.message).toContain("This batch (3 lines) holds");
    expect(err.message).toContain("Add credits");
    expect(mock.hits.length).toBe(before);
    expect((await h.admin.users.get("pat")).balance).toBe(50);
  }, T);

  test("files that cannot be held are refused with what to do: no output cap, other endpoints, not valid JSONL, not a batch file", async () => {
    const before = mock.hits.length;
    const refused = async (fileId: string, endpoint = "/v1/chat/completions") => {
      const hitsBefore = mock.hits.length;
      const e = await alice.batches.create({ input_file_id: fileId, endpoint: endpoint as "/v1/chat/completions", completion_window: "24h" }).catch((x) => x);
      expect(mock.hits.length).toBe(hitsBefore);
      return { status: e.status as number, message: e.message as string };
    };
    const uncapped = await refused((await upload([line(0), line(1, MODEL, null)])).id);
    expect(uncapped.status).toBe(400);
    expect(uncapped.message).toContain("set no output cap; set max_tokens");
    const mismatch = await refused((await upload([line(0)])).id, "/v1/embeddings");
    expect(mismatch.message).toContain("every line's url must be the batch's endpoint");
    const broken = await refused((await upload(["{not json", line(1)])).id);
    expect(broken.message).toContain("line 1: not valid JSON");
    const other = await alice.files.create({ file: await toFile(Buffer.from(line(0)), "x.jsonl"), purpose: "assistants" });
    expect((await refused(other.id)).message).toContain("upload it again with purpose 'batch'");
    const unknownModel = await refused((await upload([line(0, "gpt-nope")])).id);
    expect(unknownModel.status).toBe(404);
    expect(mock.hits.slice(before).filter((x) => x.path === "/v1/batches")).toEqual([]);
  }, T);

  test("a missing field is a 400 naming it", async () => {
    const r = await fetch(`${h.url}/v1/batches`, { method: "POST", headers: { authorization: `Bearer ${alice.apiKey}`, "content-type": "application/json" }, body: JSON.stringify({ endpoint: "/v1/chat/completions" }) });
    expect(r.status).toBe(400);
    expect(r.headers.get("x-request-id")).toBeTruthy();
    const body = await r.json() as { error: { code: string; param: string; message: string } };
    expect(body.error.code).toBe("invalid_request");
    expect(body.error.param).toBe("input_file_id");
  }, T);
});

test("the ledger balances: balances, key and member spend, and monthly tokens all agree with the charges and refunds", async () => {
  await Bun.sleep(300); // the poller's last passes
  expect(await ledgerViolations(h)).toEqual([]);
}, T);
