/**
 * The crash drill's async part: kill -9 the relay while background responses and batches are pending
 * (some being submitted at that moment, some ended upstream and about to be settled by the poller), end
 * the rest upstream, restart on the same data dir, and check that every one is settled exactly once:
 * - each object ends settled, with the usage its upstream reported (a response's, a batch output file's);
 * - at most one refund per object, and what it cost in the end (its charge less its refund) is what it used,
 *   or nothing when the kill cut its submit before the charge committed (the request is then interrupted);
 * - the accounting invariants hold (balances = ledger, key spend = charges less refunds, tokens).
 */
import { startObjectsMock } from "../support/mock-objects";
import { startRelayProcess, type RelayProcess } from "../bench/processes";
import { costOf, batchPriceOf, type Price } from "../../server/billing/prices";
import type { Checks } from "./support";
import type { DrillDb } from "./drill-db";

const MODEL = "gpt-async-crash";
/** A credit per token at the list price; batches at the default 50% off. */
const PRICE: Price = { inputPerMTok: 1_000_000, outputPerMTok: 1_000_000, cachedInputPerMTok: null, cacheWritePerMTok: null, perRequest: 0, batchDiscount: 50 };
const RESPONSE_USAGE = { input_tokens: 5, output_tokens: 3 };
const LINE_USAGE = { prompt_tokens: 10, completion_tokens: 5 };
const LINES = 4;
const ROUNDS = 3;

const line = (i: number) => JSON.stringify({ custom_id: `c${i}`, method: "POST", url: "/v1/chat/completions", body: { model: MODEL, messages: [{ role: "user", content: `q${i}` }], max_tokens: 50 } });

export async function objectsCrashDrill(opts: {
  dataDir: string; env: Record<string, string>; store: DrillDb; checks: Checks; random: () => number; relay: RelayProcess;
}): Promise<RelayProcess> {
  const { dataDir, store, checks, random } = opts;
  const env = { ...opts.env, RELAY_POLL_INTERVAL_MS: "100", RELAY_BATCH_POLL_INTERVAL_MS: "150" };
  let relay = opts.relay;
  const mock = startObjectsMock("async");
  const expected = new Map<string, number>(); // object id → what it used, by the usage its upstream reports
  try {
    await relay.stop();
    relay = await startRelayProcess({ dataDir, env });
    await relay.admin.channels.create({ name: "async", baseUrl: `${mock.url}/v1`, apiKey: "sk-async", models: [MODEL] });
    await relay.admin.prices.set(MODEL, { inputPerMTok: PRICE.inputPerMTok, outputPerMTok: PRICE.outputPerMTok });
    await relay.admin.users.create({ name: "ada", credits: 10_000_000, concurrency: 8 });
    const key = (await relay.admin.keys.create({ user: "ada", label: "async" })).key as string;
    const headers = { authorization: `Bearer ${key}`, "content-type": "application/json" };

    for (let round = 1; round <= ROUNDS; round++) {
      const url = relay.url;
      // Batch input files first (uploads are not what this drill kills).
      const files: string[] = [];
      for (let i = 0; i < 3; i++) {
        const form = new FormData();
        form.set("purpose", "batch");
        form.set("file", new File([Array.from({ length: LINES }, (_, j) => line(j)).join("\n") + "\n"], "in.jsonl"));
        const r = await fetch(`${url}/v1/files`, { method: "POST", headers: { authorization: headers.authorization }, body: form });
        files.push(((await r.json()) as { id: string }).id);
      }
      // Submits in flight while the relay dies: background responses and batches.
      const ids: { kind: "response" | "batch"; id: string }[] = [];
      let stop = false;
      // Each keeps submitting until the kill (at most `n`), so some submits are always cut mid-way.
      const submitter = async (kind: "response" | "batch", n: number) => {
        for (let i = 0; i < n && !stop; i++) {
          try {
            const res = kind === "response"
              ? await fetch(`${url}/v1/responses`, { method: "POST", headers, body: JSON.stringify({ model: MODEL, input: "later", background: true, max_output_tokens: 40 }) })
              : await fetch(`${url}/v1/batches`, { method: "POST", headers, body: JSON.stringify({ input_file_id: files[i % files.length], endpoint: "/v1/chat/completions", completion_window: "24h" }) });
            if (res.status === 200) ids.push({ kind, id: ((await res.json()) as { id: string }).id });
            else await res.text();
          } catch {
            return; // the relay is gone
          }
        }
      };
      const submitting = [submitter("response", 40), submitter("batch", 20), submitter("response", 40)];
      await Bun.sleep(40 + Math.floor(random() * 120));
      // Some end upstream before the kill, so the poller is settling them when it lands.
      for (const o of ids.slice(0, Math.floor(ids.length / 2))) end(o);
      await Bun.sleep(Math.floor(random() * 150));
      await relay.kill9();
      stop = true;
      await Promise.all(submitting);
      // Everything the upstream accepted (also submits whose answer the kill cut) ends while relay is down.
      for (const id of mock.responseIds()) if (!expected.has(id)) end({ kind: "response", id });
      for (const id of mock.batchIds()) if (!expected.has(id)) end({ kind: "batch", id });
      relay = await startRelayProcess({ dataDir, env });

      const deadline = Date.now() + 20_000;
      let pending = 0;
      while (Date.now() < deadline) {
        pending = (await store.objects()).filter((o) => o.kind !== "file" && o.settled_at === null).length;
        if (pending === 0) break;
        await Bun.sleep(100);
      }
      checks.add("after a kill -9 every background response and batch is settled once relay is back", pending === 0, `round ${round}: ${pending} not settled`);
      await Bun.sleep(400); // more poller passes: nothing more may be settled or refunded
      const objects = (await store.objects()).filter((o) => o.kind !== "file");
      const ledger = await store.ledger();
      const usage = await store.usage();
      const wrong: string[] = [];
      for (const o of objects) {
        const used = expected.get(o.upstream_id);
        if (used === undefined) continue; // an earlier round's
        if (o.used_credits !== used) wrong.push(`${o.upstream_id}: used ${o.used_credits}, upstream reported ${used}`);
        const charged = o.request_id ? -(ledger.get(o.request_id) ?? 0) : 0;
        const refund = ledger.get(`refund:${o.kind}:${o.upstream_id}`) ?? 0;
        const interrupted = o.request_id !== null && usage.get(o.request_id)?.error_code === "interrupted";
        const net = charged - refund;
        if (interrupted ? net !== 0 : net !== Math.min(used, o.prepaid)) wrong.push(`${o.upstream_id}: charged ${charged}, refunded ${refund} (interrupted: ${interrupted}), used ${used}`);
      }
      checks.add("each pending object is settled exactly once, at what it used (nothing if its submit was cut)", wrong.length === 0, `round ${round}: ${wrong.slice(0, 3).join("; ")}`);
      await store.check(checks, `async round ${round}`);
      console.log(`  async round ${round}: ${ids.length} submits answered before the kill, ${objects.length} objects settled so far`);
    }
    return relay;
  } catch (e) {
    checks.add("the async objects drill ran to the end", false, String((e as Error)?.stack ?? e));
    return relay;
  } finally {
    await mock.stop();
  }

  function end(o: { kind: "response" | "batch"; id: string }): void {
    if (expected.has(o.id)) return;
    if (o.kind === "response") {
      mock.finish(o.id, "completed", RESPONSE_USAGE);
      expected.set(o.id, costOf(PRICE, { input: RESPONSE_USAGE.input_tokens, cacheRead: 0, cacheWrite: 0, output: RESPONSE_USAGE.output_tokens }));
    } else {
      mock.finishBatch(o.id, "completed", { usage: LINE_USAGE });
      expected.set(o.id, costOf(batchPriceOf(PRICE), { input: LINES * LINE_USAGE.prompt_tokens, cacheRead: 0, cacheWrite: 0, output: LINES * LINE_USAGE.completion_tokens }, false));
    }
  }
}
