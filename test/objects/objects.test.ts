import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import OpenAI, { toFile } from "openai";
import { startRelay, userWithKey, type Harness } from "../support/harness";
import { startObjectsMock, type ObjectsMock } from "../support/mock-objects";

/**
 * Upstream objects through the official openai client, against two upstreams that serve the same model
 * with equal weight and each keep their own objects: every follow-up reaches the upstream that created the
 * object, another account's ids are 404 (as unknown ones), an org's objects belong to the org, and a
 * disabled channel's objects answer 409 object_channel_unavailable rather than going elsewhere.
 */
const MODEL = "gpt-obj";
let h: Harness;
let mocks: ObjectsMock[];
let channelIds: number[];
let alice: OpenAI;
let bob: OpenAI;
const T = 30_000;

const client = (key: string) => new OpenAI({ apiKey: key, baseURL: `${h.url}/v1`, maxRetries: 0 });
const holderOf = (id: string) => mocks.find((m) => m.has(id))!;
const hitsOn = (m: ObjectsMock, path: string) => m.hits.filter((x) => x.path.startsWith(path)).length;

beforeAll(async () => {
  h = await startRelay();
  mocks = [startObjectsMock("a"), startObjectsMock("b")];
  channelIds = [];
  for (const m of mocks) channelIds.push((await h.admin.channels.create({ name: `up-${m.name}`, baseUrl: `${m.url}/v1`, apiKey: `sk-${m.name}`, models: [MODEL], weight: 1 })).id);
  await h.admin.prices.set(MODEL, { inputPerMTok: 1_000_000, outputPerMTok: 1_000_000 });
  alice = client((await userWithKey(h, "alice", { credits: 100_000 })).key);
  bob = client((await userWithKey(h, "bob", { credits: 100_000 })).key);
}, T);
afterAll(async () => {
  await h.close();
  for (const m of mocks) await m.stop();
});

describe("stored responses", () => {
  test("retrieve, previous_response_id, input_items, cancel and delete all reach the upstream that created it", async () => {
    const first = await alice.responses.create({ model: MODEL, input: "hi", store: true });
    const holder = holderOf(first.id);
    const other = mocks.find((m) => m !== holder)!;
    const otherBefore = other.hits.length;

    expect((await alice.responses.retrieve(first.id)).id).toBe(first.id);
    // Ten follow-ups: with equal weights, any of them would land on the other upstream (which 404s) half the time.
    for (let i = 0; i < 10; i++) {
      const next = await alice.responses.create({ model: MODEL, input: "and then?", previous_response_id: first.id });
      expect(holder.has(next.id)).toBe(true);
    }
    expect((await alice.responses.inputItems.list(first.id)).data).toEqual([]);
    expect((await alice.responses.cancel(first.id)).status).toBe("cancelled");
    await alice.responses.delete(first.id);
    expect(other.hits.length).toBe(otherBefore);
    expect(hitsOn(holder, `/v1/responses/${first.id}`)).toBe(4);

    // Deleted: the record goes with it.
    const gone = await alice.responses.retrieve(first.id).catch((e) => e);
    expect(gone).toBeInstanceOf(OpenAI.NotFoundError);
  }, T);

  test("a streamed stored response is recorded from its first event: its follow-ups reach its upstream", async () => {
    const stream = await alice.responses.create({ model: MODEL, input: "stream it", stream: true });
    let id = "";
    for await (const ev of stream) if (ev.type === "response.created") id = ev.response.id;
    expect(id).toStartWith("resp_");
    const holder = holderOf(id);
    for (let i = 0; i < 6; i++) expect(holder.has((await alice.responses.create({ model: MODEL, input: "more", previous_response_id: id })).id)).toBe(true);
    expect((await alice.responses.retrieve(id)).id).toBe(id);
    expect(await bob.responses.retrieve(id).catch((e) => e.status)).toBe(404);
  }, T);

  test("another account's response id answers 404 not_found, the same as an unknown one, and reaches no upstream", async () => {
    const mine = await alice.responses.create({ model: MODEL, input: "secret", store: true });
    const before = mocks.map((m) => m.hits.length);
    for (const id of [mine.id, "resp_never_made"]) {
      const err = await bob.responses.retrieve(id).catch((e) => e);
      expect(err).toBeInstanceOf(OpenAI.NotFoundError);
      expect(err.code).toBe("not_found");
      expect(err.message).toContain("No response found with id");
    }
    const follow = await bob.responses.create({ model: MODEL, input: "x", previous_response_id: mine.id }).catch((e) => e);
    expect(follow).toBeInstanceOf(OpenAI.NotFoundError);
    expect(mocks.map((m) => m.hits.length)).toEqual(before);
  }, T);
});

describe("files", () => {
  test("create (multipart), content and list reach the file's upstream; lists show only the caller's files", async () => {
    const f = await alice.files.create({ file: await toFile(Buffer.from('{"custom_id":"1"}\n'), "in.jsonl"), purpose: "batch" });
    const holder = holderOf(f.id);
    expect(await (await alice.files.content(f.id)).text()).toBe('{"custom_id":"1"}\n');
    expect((await alice.files.retrieve(f.id)).filename).toBe("in.jsonl");
    expect(hitsOn(holder, `/v1/files/${f.id}`)).toBe(2);

    const mine = await alice.files.list();
    expect(mine.data.map((x) => x.id)).toContain(f.id);
    expect((await bob.files.list()).data).toEqual([]);
    expect(await bob.files.retrieve(f.id).catch((e) => e.status)).toBe(404);
    expect(await bob.files.content(f.id).catch((e) => e.status)).toBe(404);

    await alice.files.delete(f.id);
    expect((await alice.files.list()).data.map((x) => x.id)).not.toContain(f.id);
  }, T);

  test("a malformed upload is the client's 400, checked before any upstream sees it", async () => {
    const before = mocks.map((m) => m.hits.length);
    const post = (body: BodyInit, type?: string) => fetch(`${h.url}/v1/files`, { method: "POST", body, headers: { authorization: `Bearer ${alice.apiKey}`, ...(type ? { "content-type": type } : {}) } });
    const json = await post('{"purpose":"batch"}', "application/json");
    expect(json.status).toBe(400);
    expect((await json.json()).error.message).toContain("multipart/form-data");
    const form = new FormData();
    form.set("purpose", "batch");
    const noFile = await post(form);
    expect(noFile.status).toBe(400);
    expect((await noFile.json()).error.param).toBe("file");
    expect(mocks.map((m) => m.hits.length)).toEqual(before);
  }, T);

  test("a disabled channel's objects answer 409 object_channel_unavailable, never another channel", async () => {
    const f = await alice.files.create({ file: await toFile(Buffer.from("x"), "x.txt"), purpose: "assistants" });
    const id = channelIds[mocks.indexOf(holderOf(f.id))]!;
    await h.admin.channels.update(id, { enabled: false });
    try {
      const err = await alice.files.retrieve(f.id).catch((e) => e);
      expect(err.status).toBe(409);
      expect(err.code).toBe("object_channel_unavailable");
    } finally {
      await h.admin.channels.update(id, { enabled: true });
    }
    expect((await alice.files.retrieve(f.id)).id).toBe(f.id);
  }, T);

  test("objects belong to the account: an org member reaches a file another member's key created", async () => {
    await h.admin.users.create({ name: "carol" });
    await h.admin.users.create({ name: "dan" });
    await h.admin.orgs.create({ name: "objco", credits: 10_000, owner: "carol" });
    await h.admin.orgs.addMember("objco", { user: "dan", role: "member" });
    const carolKey = (await h.admin.keys.create({ org: "objco", member: "carol", label: "c" })).key as string;
    const danKey = (await h.admin.keys.create({ org: "objco", member: "dan", label: "d" })).key as string;
    const f = await client(carolKey).files.create({ file: await toFile(Buffer.from("org data"), "org.txt"), purpose: "assistants" });
    expect(await (await client(danKey).files.content(f.id)).text()).toBe("org data");
    expect(await alice.files.retrieve(f.id).catch((e) => e.status)).toBe(404);
  }, T);
});

describe("batches", () => {
  const line = (i: number) => JSON.stringify({ custom_id: `r${i}`, method: "POST", url: "/v1/chat/completions", body: { model: MODEL, messages: [{ role: "user", content: "hi" }], max_tokens: 10 } });
  const input = async (c: OpenAI) => c.files.create({ file: await toFile(Buffer.from([0, 1, 2].map(line).join("\n") + "\n"), "in.jsonl"), purpose: "batch" });

  test("create goes to the upstream holding the input file, every time; retrieve and cancel follow the batch", async () => {
    for (let i = 0; i < 6; i++) {
      const f = await input(alice);
      const holder = holderOf(f.id);
      const other = mocks.find((m) => m !== holder)!;
      const otherBefore = other.hits.length;
      const b = await alice.batches.create({ input_file_id: f.id, endpoint: "/v1/chat/completions", completion_window: "24h" });
      expect(holder.has(b.id)).toBe(true);
      expect((await alice.batches.retrieve(b.id)).id).toBe(b.id);
      expect((await alice.batches.cancel(b.id)).status).toBe("cancelling");
      expect(other.hits.length).toBe(otherBefore);
    }
  }, T);

  test("another account's batch and input file are 404, and lists show only the caller's batches", async () => {
    const f = await input(alice);
    const b = await alice.batches.create({ input_file_id: f.id, endpoint: "/v1/chat/completions", completion_window: "24h" });
    const before = mocks.map((m) => m.hits.length);
    expect(await bob.batches.retrieve(b.id).catch((e) => e.status)).toBe(404);
    expect(await bob.batches.cancel(b.id).catch((e) => e.status)).toBe(404);
    expect(await bob.batches.create({ input_file_id: f.id, endpoint: "/v1/chat/completions", completion_window: "24h" }).catch((e) => e.status)).toBe(404);
    expect(await alice.batches.retrieve("batch_unknown").catch((e) => e.status)).toBe(404);
    expect(mocks.map((m) => m.hits.length)).toEqual(before);
    const mine = (await alice.batches.list()).data.map((x) => x.id);
    expect(mine).toContain(b.id);
    expect((await bob.batches.list()).data).toEqual([]);
  }, T);
});
