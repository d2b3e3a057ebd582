import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { expectError } from "./support/expect-error";
import { chat, eventually, post, relayWithMocks } from "./support/relay-fixture";

/** Errors that say what to do, and relay's own 502/504 that never show a channel's name, URL or runtime error text. */
let f: Awaited<ReturnType<typeof relayWithMocks>>;
let key: string;
beforeAll(async () => {
  f = await relayWithMocks(1);
  ({ key } = await f.userWithKey("guide"));
});
afterAll(() => f.close());

describe("errors that say what to do", () => {
  test("a missing Authorization header has its own message, still 401 invalid_api_key", async () => {
    const body = await expectError(await fetch(`${f.h.url}/v1/me`), 401, "invalid_api_key");
    expect(body.error.message).toStartWith("No API key provided");
    const basic = await expectError(await fetch(`${f.h.url}/v1/me`, { headers: { authorization: "Basic abc" } }), 401, "invalid_api_key");
    expect(basic.error.message).toContain("Bearer");
  });

  test("an unknown field suggests the field that was meant", async () => {
    const body = await expectError(await post(f.h, key, "/v1/keys", { name: "laptop" }), 400, "invalid_request");
    expect(body.error.message).toContain("'name' (did you mean 'label'?)");
    const two = await expectError(await post(f.h, key, "/v1/keys", { spend_limit: 5, expires: "2030-01-01" }), 400, "invalid_request");
    expect(two.error.message).toContain("'spend_limit' (did you mean 'spendLimit'?)");
    expect(two.error.message).toContain("'expires' (did you mean 'expiresAt'?)");
    const admin = await f.h.admin.keys.create({ user: "guide", name: "x" }).catch((e) => e);
    expect(admin.message).toContain("did you mean 'label'");
  });

  test("date fields say they expect ISO 8601 and give an example; an expiry in the past is refused", async () => {
    const usage = await expectError(await fetch(`${f.h.url}/v1/usage?from=yesterday`, { headers: { authorization: `Bearer ${key}` } }), 400, "invalid_request");
    expect(usage.error.message).toContain("ISO 8601");
    expect(usage.error.message).toContain("e.g. 2026-12-31");
    const past = await expectError(await post(f.h, key, "/v1/keys", { label: "old", expiresAt: "2001-01-01" }), 400, "invalid_request");
    expect(past.error.message).toContain("in the past");
  });

  test("a concurrency cap of 0 is refused; a monthly quota of 0 means unlimited", async () => {
    const err = await f.h.admin.users.create({ name: "zero", concurrency: 0 }).catch((e) => e);
    expect(err).toMatchObject({ status: 400, code: "invalid_request" });
    expect(err.message).toContain("at least 1");
    expect((await f.h.admin.users.create({ name: "unlimited", monthlyTokens: 0 })).monthlyTokens).toBe(0);
  });
});

describe("relay's own 502 and 504", () => {
  test("name no channel, URL or runtime error; the usage row keeps the details", async () => {
    const ch = await f.h.admin.channels.create({ name: "secret-upstream-name", group: "official", baseUrl: "http://127.0.0.1:1/v1", apiKey: "sk-x", models: ["dead"] });
    const res = await post(f.h, key, "/v1/chat/completions", chat("dead"));
    const body = await expectError(res, 502, "upstream_error");
    const text = JSON.stringify(body);
    for (const leak of ["secret-upstream-name", "127.0.0.1:1", "Unable to connect", "ECONNREFUSED", "ConnectionRefused"]) expect(text).not.toContain(leak);
    expect(body.error.message).toContain(res.headers.get("x-request-id")!);
    await eventually(async () => (await f.h.admin.usage({ limit: 1 })).data[0]?.channelId === ch.id, "usage row");
    const row = (await f.h.admin.usage({ limit: 1 })).data[0]!;
    expect(row.errorDetail).toContain("secret-upstream-name");
    await f.h.admin.channels.delete(ch.id);
  });

  test("a timeout says so without naming the channel", async () => {
    f.mocks[0]!.set({ behavior: "hang" });
    const ch = await f.channel(f.mocks[0]!, { name: "hidden-slow", models: ["slow"], firstByteTimeoutMs: 100 });
    const body = await expectError(await post(f.h, key, "/v1/chat/completions", chat("slow")), 504, "upstream_timeout");
    expect(JSON.stringify(body)).not.toContain("hidden-slow");
    expect(body.error.message).toContain("did not answer in time");
    f.mocks[0]!.set({});
    await f.h.admin.channels.delete(ch.id);
  });
});
