import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { DEFAULT_MAX_OUTPUT_TOKENS, MIN_OUTPUT_TOKENS } from "../../server/limits/admission";
import { promptBound } from "../../server/relay/tokens";
import { userWithKey } from "../support/harness";
import { MODEL, PER_OUTPUT_TOKEN, chatBody, sendChat, settled, startLimitsRig, until, type LimitsRig } from "../support/limits-helpers";

/** The prompt bound the relay holds for `body` sent as JSON text. */
const boundOf = (body: Record<string, unknown>) => promptBound(body, Buffer.byteLength(JSON.stringify(body)));
const cost = (p: { inputPerMTok: number; outputPerMTok: number }, prompt: number, output: number) =>
  Math.ceil((prompt * p.inputPerMTok + output * p.outputPerMTok) / 1e6);

/** When the client sets no maximum output, the relay sets one the available balance can pay for. */
describe("max_tokens set by the relay", () => {
  let rig: LimitsRig;
  let n = 0;
  beforeAll(async () => {
    rig = await startLimitsRig();
  });
  afterAll(() => rig.close());

  /** Sends one request as a fresh user and returns its status and the max_tokens the upstream saw. */
  async function upstreamMax(credits: number, body = chatBody(), key: Record<string, unknown> = {}) {
    const name = `m${++n}`;
    const k = await userWithKey(rig.h, name, { credits }, key);
    const before = rig.mock.requests.length;
    const res = await sendChat(rig.h.url, k.key, body);
    const text = await res.text();
    await settled(rig.h.admin, name);
    const reached = rig.mock.requests.length > before;
    return { status: res.status, code: res.ok ? null : JSON.parse(text).error.code, reached, max: reached ? rig.mock.requests.at(-1)!.body.max_tokens : undefined, name };
  }

  test("the available balance bounds it (1 credit per output token)", async () => {
    expect(await upstreamMax(100)).toMatchObject({ status: 200, max: 100 });
    expect(await upstreamMax(100, chatBody({ stream: true }))).toMatchObject({ status: 200, max: 100 });
  });

  test("with priced prompts, the largest output whose cost fits next to the prompt's bound", async () => {
    const price = { inputPerMTok: 2_500_000, outputPerMTok: 7_000_000 };
    await rig.h.admin.prices.set(MODEL, price);
    try {
      for (const credits of [300, 301, 1001, 5003]) {
        const r = await upstreamMax(credits);
        const bound = boundOf(chatBody());
        expect(r.status).toBe(200);
        expect(cost(price, bound, r.max)).toBeLessThanOrEqual(credits);
        expect(cost(price, bound, r.max + 1)).toBeGreaterThan(credits);
      }
    } finally {
      await rig.h.admin.prices.set(MODEL, PER_OUTPUT_TOKEN);
    }
  });

  test("a rich balance gets the default maximum", async () => {
    expect(await upstreamMax(1_000_000)).toMatchObject({ status: 200, max: DEFAULT_MAX_OUTPUT_TOKENS });
  });

  test(`not even ${MIN_OUTPUT_TOKENS} tokens affordable: 402 quota_exceeded and the upstream is never called`, async () => {
    expect(await upstreamMax(MIN_OUTPUT_TOKENS - 1)).toMatchObject({ status: 402, code: "quota_exceeded", reached: false });
    expect(await upstreamMax(MIN_OUTPUT_TOKENS)).toMatchObject({ status: 200, max: MIN_OUTPUT_TOKENS });
  });

  test("credits held by the user's running requests are not available", async () => {
    const { key } = await userWithKey(rig.h, "busy", { credits: 100 });
    const ctrl = new AbortController();
    const first = sendChat(rig.h.url, key, chatBody({ max_tokens: 60 }), { mock: { behavior: "hang" }, signal: ctrl.signal }).catch(() => null);
    await until(async () => (await rig.h.admin.users.get("busy")).heldCredits === 60, "first request holds 60");
    const second = await sendChat(rig.h.url, key, chatBody());
    expect(second.status).toBe(200);
    expect(rig.mock.requests.at(-1)!.body.max_tokens).toBe(40);
    ctrl.abort();
    await first;
    await settled(rig.h.admin, "busy");
  });

  test("the key's remaining spend limit bounds it too", async () => {
    expect(await upstreamMax(1000, chatBody(), { spendLimit: 30 })).toMatchObject({ status: 200, max: 30 });
    expect(await upstreamMax(1000, chatBody(), { spendLimit: MIN_OUTPUT_TOKENS - 1 })).toMatchObject({ status: 402, code: "key_spend_limit_exceeded", reached: false });
  });

  test("a maximum set by the client is forwarded as it is and held in full", async () => {
    expect(await upstreamMax(100, chatBody({ max_tokens: 7 }))).toMatchObject({ status: 200, max: 7 });
    const r = await upstreamMax(100, chatBody({ max_completion_tokens: 50 }));
    expect(r).toMatchObject({ status: 200, max: undefined });
    expect(rig.mock.requests.at(-1)!.body.max_completion_tokens).toBe(50);
    expect(await upstreamMax(100, chatBody({ max_completion_tokens: 101 }))).toMatchObject({ status: 402, code: "quota_exceeded", reached: false });
    expect(await upstreamMax(100, chatBody({ max_tokens: 101 }))).toMatchObject({ status: 402, code: "quota_exceeded", reached: false });
  });

  test("the Responses API gets max_output_tokens, its own name for it", async () => {
    const { key } = await userWithKey(rig.h, "responses", { credits: 100 });
    const res = await fetch(`${rig.h.url}/v1/responses`, {
      method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify({ model: MODEL, input: "hi" }),
    });
    expect(res.status).toBe(200);
    const sent = rig.mock.requests.at(-1)!;
    expect(sent.path).toBe("/v1/responses");
    expect(sent.body.max_output_tokens).toBe(100);
    expect(sent.body.max_tokens).toBeUndefined();
    await settled(rig.h.admin, "responses");
  });
});
