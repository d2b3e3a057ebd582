import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { isPassThrough, PASS_THROUGH_FAMILIES } from "../../server/relay/families";
import { expectError } from "../support/expect-error";
import { chat, eventually, post, relayWithMocks } from "../support/relay-fixture";

/** Only the OpenAI API's families are passed through; anything else is relay's own 404, never sent upstream. */
let f: Awaited<ReturnType<typeof relayWithMocks>>;
let key: string;
beforeAll(async () => {
  f = await relayWithMocks(1);
  await f.channel(f.mocks[0]!);
  ({ key } = await f.userWithKey("routes", { credits: 1000 }));
});
afterAll(() => f.close());

describe("pass-through families", () => {
  test("a typo, another product's route or a made-up path is a 404 not_found from relay; the upstream never sees it", async () => {
    const cases: [string, string, unknown][] = [
      ["POST", "/v1/chat/completion", chat("gpt-test")],
      ["POST", "/v1/organizations/1/api-keys", { name: "x" }],
      ["GET", "/v1/key", undefined],
      ["POST", "/v1/chat", chat("gpt-test")],
      ["POST", "/v1/completionsx", { model: "gpt-test", prompt: "x" }],
      ["DELETE", "/v1/../admin", undefined],
    ];
    for (const [method, path, body] of cases) {
      const before = f.mocks[0]!.requests.length;
      const res = await fetch(`${f.h.url}${path}`, {
        method, headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: body === undefined ? undefined : JSON.stringify(body),
      });
      const err = await expectError(res, 404, "not_found");
      expect(f.mocks[0]!.requests.length).toBe(before);
      if (path === "/v1/chat/completion") expect(err.error.message).toContain("Did you mean /v1/chat/completions?");
    }
  });

  test("one of relay's own routes with another method is a 405 naming the methods it takes, in either API's envelope", async () => {
    for (const [method, path, allow] of [["PUT", "/v1/me", "GET"], ["DELETE", "/v1/usage", "GET"], ["PUT", "/v1/keys/7", "GET, PATCH, DELETE"], ["GET", "/v1/orgs/1/api-keys/create", "POST"]] as const) {
      const before = f.mocks[0]!.requests.length;
      const res = await fetch(`${f.h.url}${path}`, { method, headers: { authorization: `Bearer ${key}` } });
      const err = await expectError(res, 405, "method_not_allowed");
      expect({ path, allow: res.headers.get("allow"), says: err.error.message.includes(allow) }).toEqual({ path, allow, says: true });
      expect(f.mocks[0]!.requests.length).toBe(before);
    }
    const res = await fetch(`${f.h.url}/v1/messages`, { method: "GET", headers: { "x-api-key": key } });
    expect(res.status).toBe(405);
    expect(((await res.json()) as any).error.type).toBe("invalid_request_error");
  });

  test("unknown routes are refused the same way without a key, and never count as upstream errors", async () => {
    await expectError(await fetch(`${f.h.url}/v1/chat/completion`, { method: "POST" }), 404, "not_found");
    await eventually(async () => (await f.h.admin.metrics()).includes('relay_refused_total{code="not_found"}'), "counted");
    expect(await f.h.admin.metrics()).not.toContain('status="404"');
  });

  test("every family of the table passes through, its sub-paths too", async () => {
    // files, batches and responses/{id}/… are object routes (test/objects): owner-checked, to the object's channel.
    for (const family of ["audio/speech", "images/generations", "moderations", "vector_stores", "fine_tuning/jobs", "conversations", "uploads"]) {
      const res = await post(f.h, key, `/v1/${family}`, { model: "gpt-test", input: "hi" });
      expect({ family, status: res.status }).toEqual({ family, status: 200 });
      expect(((await res.json()) as any).path).toBe(`/v1/${family}`);
    }
  });

  test("the table matches whole path segments", () => {
    expect(isPassThrough("/v1/audio")).toBe(true);
    expect(isPassThrough("/v1/audio/transcriptions")).toBe(true);
    expect(isPassThrough("/v1/audiox")).toBe(false);
    expect(isPassThrough("/v1/chat/completions/abc/messages")).toBe(true);
    expect(isPassThrough("/v1/chat/completion")).toBe(false);
    expect(isPassThrough("/v2/files")).toBe(false);
    expect(PASS_THROUGH_FAMILIES).toContain("vector_stores");
  });
});
