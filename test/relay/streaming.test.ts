import { afterEach, describe, expect, test } from "bun:test";
import { countTokens } from "gpt-tokenizer";
import { chat, eventually, post, relayWithMocks } from "../support/relay-fixture";

let f: Awaited<ReturnType<typeof relayWithMocks>> | undefined;
afterEach(async () => {
  await f?.close();
  f = undefined;
});

async function readAll(res: Response): Promise<string> {
  return new TextDecoder().decode(await res.arrayBuffer());
}

describe("streaming", () => {
  test("chunks arrive one by one, not buffered", async () => {
    f = await relayWithMocks(1);
    f.mocks[0]!.set({ behavior: "drip", delayMs: 150, chunks: 4 });
    await f.channel(f.mocks[0]!);
    const { key } = await f.userWithKey("drip");
    const res = await post(f.h, key, "/v1/chat/completions", chat("gpt-test", { stream: true }));
    const reader = res.body!.getReader();
    const first = await reader.read();
    // The first chunk is here while the upstream is still dripping the rest.
    expect(new TextDecoder().decode(first.value)).toContain("tok1");
    expect(f.mocks[0]!.inFlight).toBe(1);
    while (!(await reader.read()).done);
  });

  test("no failover once bytes reached the client: a mid-stream disconnect ends with an error event", async () => {
    f = await relayWithMocks(2);
    const [primary, backup] = f.mocks as [any, any];
    primary.set({ behavior: "disconnect", chunks: 3 });
    await f.channel(primary, { priority: 10 });
    await f.channel(backup, { priority: 0 });
    const { key } = await f.userWithKey("cut");
    const res = await post(f.h, key, "/v1/chat/completions", chat("gpt-test", { stream: true }));
    expect(res.status).toBe(200);
    const text = await readAll(res);
    expect(text).toContain("tok3");
    expect(text).toContain('"code":"upstream_error"');
    expect(text).not.toContain("[DONE]");
    expect(backup.requests.length).toBe(0);
    await eventually(async () => (await f!.h.admin.users.get("cut")).inFlight === 0, "slot released");
    const row = (await f.h.admin.usage({ limit: 1 })).data[0]!;
    expect(row).toMatchObject({ status: 502, errorCode: "upstream_error", tokensEstimated: true });
    expect(row.completionTokens).toBe(countTokens("tok1 tok2 tok3 "));
  });

  test("a client abort cancels the upstream request and releases the slot", async () => {
    f = await relayWithMocks(1);
    const mock = f.mocks[0]!;
    mock.set({ behavior: "drip", delayMs: 100, chunks: 100 });
    await f.channel(mock);
    const { key } = await f.userWithKey("abort", { concurrency: 1 });
    const ctrl = new AbortController();
    const res = await post(f.h, key, "/v1/chat/completions", chat("gpt-test", { stream: true }), {}, ctrl.signal);
    const reader = res.body!.getReader();
    await reader.read();
    await reader.read();
    ctrl.abort();
    await eventually(() => mock.aborted === 1, "upstream request aborted");
    await eventually(async () => (await f!.h.admin.users.get("abort")).inFlight === 0, "slot released");
    const row = (await f.h.admin.usage({ limit: 1 })).data[0]!;
    expect(row).toMatchObject({ status: 499, errorCode: "client_closed" });
    expect(row.completionTokens).toBeGreaterThan(0);
    mock.set({ behavior: "normal" });
    expect((await post(f.h, key, "/v1/chat/completions", chat("gpt-test"))).status).toBe(200); // the single slot is free again
  });

  test("a client abort of a hanging non-stream request cancels the upstream too", async () => {
    f = await relayWithMocks(1);
    const mock = f.mocks[0]!;
    mock.set({ behavior: "hang" });
    await f.channel(mock);
    const { key } = await f.userWithKey("hang", { concurrency: 1 });
    const ctrl = new AbortController();
    const pending = post(f.h, key, "/v1/chat/completions", chat("gpt-test"), {}, ctrl.signal).catch(() => null);
    await eventually(() => mock.inFlight === 1, "request reached upstream");
    ctrl.abort();
    await pending;
    await eventually(() => mock.aborted === 1, "upstream aborted");
    await eventually(async () => (await f!.h.admin.users.get("hang")).inFlight === 0, "slot released");
  });

  test("a stream without upstream usage is counted with the tokenizer", async () => {
    f = await relayWithMocks(1);
    f.mocks[0]!.set({ usageInStream: false, chunks: 7 });
    await f.channel(f.mocks[0]!);
    const { key } = await f.userWithKey("nousage");
    const text = await readAll(await post(f.h, key, "/v1/chat/completions", chat("gpt-test", { stream: true, stream_options: { include_usage: true } })));
    expect(text).toContain("[DONE]");
    const row = (await f.h.admin.usage({ limit: 1 })).data[0]!;
    expect(row.tokensEstimated).toBe(true);
    expect(row.completionTokens).toBe(countTokens("tok1 tok2 tok3 tok4 tok5 tok6 tok7 "));
    expect(row.promptTokens).toBeGreaterThan(0);
  });

  test("the stream idle timeout ends a stalled stream with an error event", async () => {
    f = await relayWithMocks(1, { RELAY_STREAM_IDLE_TIMEOUT_MS: "200" });
    f.mocks[0]!.set({ behavior: "drip", delayMs: 2000, chunks: 5 });
    await f.channel(f.mocks[0]!);
    const { key } = await f.userWithKey("idle");
    const text = await readAll(await post(f.h, key, "/v1/chat/completions", chat("gpt-test", { stream: true })));
    expect(text).toContain('"code":"upstream_timeout"');
    await eventually(async () => (await f!.h.admin.users.get("idle")).inFlight === 0, "slot released");
  });
});
