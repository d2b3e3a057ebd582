import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI from "openai";
import { startRelay, userWithKey, type Harness } from "../support/harness";
import { startObjectsMock, type ObjectsMock } from "../support/mock-objects";
import { dbQuery, ledgerViolations } from "../support/limits-helpers";
import { eventually } from "../support/relay-fixture";
import { settleIfEnded } from "../../server/objects/settle";
import { interruptedSettlement } from "../../server/usage/journal";

/**
 * Background responses: held at submit like any request, they pay their whole hold when the upstream
 * queues them (and hold no slot while they run), and the poller refunds what they did not use when they
 * end, exactly once, even while the client polls too; one that fails without tokens costs nothing.
 */
const MODEL = "gpt-bg";
let h: Harness;
let mock: ObjectsMock;
let alice: OpenAI;
const T = 30_000;
const START = 100_000;

beforeAll(async () => {
  h = await startRelay({ RELAY_POLL_INTERVAL_MS: "100" });
  mock = startObjectsMock("bg");
  await h.admin.channels.create({ name: "bg", baseUrl: `${mock.url}/v1`, apiKey: "sk-bg", models: [MODEL] });
  await h.admin.prices.set(MODEL, { inputPerMTok: 1_000_000, outputPerMTok: 1_000_000 }); // a credit a token
  alice = new OpenAI({ apiKey: (await userWithKey(h, "alice", { credits: START, concurrency: 1 })).key, baseURL: `${h.url}/v1`, maxRetries: 0 });
}, T);
afterAll(async () => {
  await h.close();
  await mock.stop();
});

// Settlements are committed in batches (PostgreSQL modes read the committed balance): flush first.
const balance = async () => {
  await h.ctx.writer.flush();
  return (await h.admin.users.get("alice")).balance as number;
};
const refunds = async (id: string) => (await dbQuery(h, "SELECT amount FROM ledger WHERE kind = 'refund' AND ref = ?", [`refund:response:${id}`])) as { amount: number }[];

describe("background responses", () => {
  test("pay their hold at submit, hold no slot while queued, and are refunded what they did not use, once", async () => {
    const before = await balance();
    const r = await alice.responses.create({ model: MODEL, input: "later", background: true, max_output_tokens: 100 });
    expect(r.status).toBe("queued");
    const prepaid = before - (await balance());
    expect(prepaid).toBeGreaterThan(100); // the prompt bound plus the whole output cap
    // Its concurrency slot (the cap is 1) is free while it runs upstream.
    expect((await alice.responses.create({ model: MODEL, input: "now", max_output_tokens: 10 })).status).toBe("completed");
    const afterSync = await balance();

    mock.finish(r.id, "completed", { input_tokens: 5, output_tokens: 3 });
    // The client polls too, while the poller does: the end is settled once.
    await Promise.all(Array.from({ length: 5 }, () => alice.responses.retrieve(r.id)));
    await eventually(async () => (await refunds(r.id)).length === 1, "the refund");
    await Bun.sleep(300); // a few more poller passes: nothing more
    expect((await refunds(r.id)).map((x) => x.amount)).toEqual([prepaid - 8]);
    expect(await balance()).toBe(afterSync + prepaid - 8);
  }, T);

  test("one that fails without producing tokens costs nothing", async () => {
    const before = await balance();
    const r = await alice.responses.create({ model: MODEL, input: "doomed", background: true, max_output_tokens: 50 });
    expect(await balance()).toBeLessThan(before);
    mock.finish(r.id, "failed", null);
    await eventually(async () => (await balance()) === before, "the full refund");
    const [row] = (await dbQuery(h, "SELECT status, settled_at FROM objects WHERE upstream_id = ?", [r.id])) as { status: string; settled_at: number | null }[];
    expect(row!.status).toBe("failed");
    expect(row!.settled_at).not.toBeNull();
  }, T);

  test("a kill -9 between recording and prepaying refunds nothing: a refund never exceeds the committed charge", async () => {
    const user = await h.admin.users.get("alice");
    const channelId = h.ctx.channels.all()[0]!.row.id;
    const o = await h.ctx.stores.objects.record({
      kind: "response", upstreamId: "resp_killed", channelId, accountId: user.accountId, keyId: null, status: "queued", meta: null,
      prepaid: 500, model: MODEL, requestId: "req_killed_before_its_charge",
    });
    const before = await balance();
    // Its request is not in the usage log yet (a journal replay may still bring it): wait.
    expect(await settleIfEnded(h.ctx, o, { id: "resp_killed", status: "failed" })).toEqual({ settled: false, refund: 0 });
    // The replay found it unanswered: interrupted, charged nothing. The object settles, refunding nothing.
    h.ctx.writer.enqueue(interruptedSettlement({ requestId: "req_killed_before_its_charge", accountId: user.accountId, orgId: null, userId: user.id, keyId: null,
      keyLabel: "", keyPrefix: "x", sourceIp: "127.0.0.1", endpoint: "/v1/responses", model: MODEL, stream: false, at: Date.now() }));
    await h.ctx.writer.flush();
    expect(await settleIfEnded(h.ctx, o, { id: "resp_killed", status: "failed" })).toEqual({ settled: true, refund: 0 });
    expect(await balance()).toBe(before);
  }, T);

  test("the books balance: balance equals the ledger, every charge one usage row", async () => {
    const [sum] = (await dbQuery(h, "SELECT (SELECT credits FROM accounts WHERE name = 'alice' AND kind = 'user') AS credits, (SELECT sum(amount) FROM ledger WHERE account_id = (SELECT id FROM accounts WHERE name = 'alice' AND kind = 'user')) AS ledger")) as { credits: number; ledger: number }[];
    expect(sum!.credits).toBe(sum!.ledger);
    const orphans = (await dbQuery(h, "SELECT l.ref FROM ledger l WHERE l.kind = 'charge' AND NOT EXISTS (SELECT 1 FROM usage_log u WHERE u.request_id = l.ref AND u.cost = -l.amount)")) as unknown[];
    expect(orphans).toEqual([]);
  }, T);
});

test("the ledger balances: balances, key and member spend, and monthly tokens all agree with the charges and refunds", async () => {
  await Bun.sleep(300); // the poller's last passes
  expect(await ledgerViolations(h)).toEqual([]);
}, T);
