import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { AdminRefused } from "../../tui/client";
import { startRelay, type Harness } from "../support/harness";
import { ChannelsView } from "../../tui/views/channels-view";
import { channel, fakeChannels } from "./fakes";
import { KEY, renderView, waitFor } from "./support";

const sick = channel(2, {
  name: "backup",
  group: "special",
  priority: 5,
  health: { state: "open", consecutiveFailures: 3, lastError: "HTTP 502 from upstream", lastErrorAt: Date.now(), cooldownUntil: Date.now() + 30_000 },
});
const setup = () => {
  const f = fakeChannels([channel(1, { name: "primary" }), sick]);
  const v = renderView(<ChannelsView api={f.api} active width={110} height={20} pollMs={50} />);
  return { ...f, v };
};

test("lists channels with health state, failures and last error", async () => {
  const { v } = setup();
  const f = await v.waitFrame("backup");
  expect(f).toMatch(/primary\s+openai\s+official\s+0\s+1\s+yes\s+ok\s+0\s+-/);
  expect(f).toMatch(/backup\s+openai\s+special\s+5\s+1\s+yes\s+cooling\s+3\s+HTTP 502 from upstream/);
  v.unmount();
});

test("creates a channel from the form; the upstream key is masked on screen", async () => {
  const { v, calls } = setup();
  await v.waitFrame("backup");
  await v.press("n");
  await v.waitFrame("New channel");
  await v.press("spare", KEY.enter, KEY.enter, KEY.enter, "https://spare.example/v1", KEY.enter, KEY.enter, "sk-upstream-secret", KEY.enter);
  expect(v.frame()).not.toContain("sk-upstream-secret");
  await v.press("gpt-4o, gpt-4o-mini", KEY.enter, KEY.backspace, "3", KEY.enter, KEY.enter, "fast=gpt-4o-mini", KEY.enter);
  await v.waitReport(/channel spare created/);
  expect(calls[0]).toEqual([
    "create",
    { name: "spare", type: "openai", group: "official", baseUrl: "https://spare.example/v1", apiKey: "sk-upstream-secret", models: ["gpt-4o", "gpt-4o-mini"], priority: 3, weight: 1, modelMap: { fast: "gpt-4o-mini" } },
  ]);
  await v.waitFrame(/spare\s+openai\s+official\s+3/);
  v.unmount();
});

test("a refused create keeps the form open with the server's message", async () => {
  const { v } = setup();
  await v.waitFrame("backup");
  await v.press("n", "bad", KEY.enter, KEY.enter, KEY.enter, "ftp://x", KEY.enter, KEY.enter, "k", KEY.enter, KEY.enter, KEY.enter, KEY.enter, KEY.enter);
  await v.waitFrame("baseUrl: must be an http(s) URL (invalid_request)");
  expect(v.frame()).toContain("New channel");
  v.unmount();
});

test("edits a channel without touching its key; toggles it", async () => {
  const { v, calls } = setup();
  await v.waitFrame("backup");
  await v.press(KEY.down, "e");
  await v.waitFrame("Edit channel backup");
  await v.press(...Array(7).fill(KEY.down), KEY.backspace, "9", KEY.down, KEY.down);
  await v.press(KEY.enter);
  await v.waitReport(/channel backup updated/);
  expect(calls[0]).toEqual(["update", 2, { name: "backup", group: "special", baseUrl: "https://up2.example/v1", models: ["gpt-4o"], priority: 9, weight: 1 }]);
  await v.press("x");
  await v.waitReport(/channel backup disabled/);
  expect(calls[1]).toEqual(["update", 2, { enabled: false }]);
  await v.waitFrame(/backup\s+openai\s+special\s+9\s+1\s+no/);
  v.unmount();
});

test("an edit sends the type and api version only when they change; a cleared api version as null", async () => {
  const { v, calls } = setup();
  await v.waitFrame("backup");
  await v.press("e");
  await v.waitFrame("Edit channel primary");
  await v.press(KEY.down, KEY.right, KEY.right);
  await v.waitFrame("‹ azure ›  Azure OpenAI deployments");
  await v.press(KEY.down, KEY.down, KEY.down);
  await v.waitFrame("required for azure, e.g. 2024-10-21");
  await v.press("2024-10-21", ...Array(5).fill(KEY.down), KEY.enter);
  await v.waitReport(/channel primary updated/);
  expect(calls[0]).toEqual(["update", 1, { name: "primary", group: "official", baseUrl: "https://up1.example/v1", models: ["gpt-4o"], priority: 0, weight: 1, type: "azure", apiVersion: "2024-10-21" }]);
  await v.waitFrame(/primary\s+azure\s+official/);

  await v.press("e");
  await v.waitFrame("‹ azure ›");
  await v.press(KEY.down, KEY.right, KEY.down, KEY.down, KEY.down, ...Array(10).fill(KEY.backspace), ...Array(5).fill(KEY.down), KEY.enter);
  await v.waitReport(/channel primary updated/);
  expect(calls[1]).toEqual(["update", 1, { name: "primary", group: "official", baseUrl: "https://up1.example/v1", models: ["gpt-4o"], priority: 0, weight: 1, type: "openai", apiVersion: null }]);
  v.unmount();
});

test("delete asks first; n keeps the channel, y deletes it", async () => {
  const { v, calls } = setup();
  await v.waitFrame("backup");
  await v.press(KEY.down, "d");
  await v.waitFrame("Delete channel backup (#2)?");
  await v.press("n");
  await v.waitFrame((f) => !f.includes("Delete channel") && f.includes("backup"));
  expect(calls).toEqual([]);
  await v.press("d", "y");
  await v.waitReport(/channel backup deleted/);
  expect(calls).toEqual([["delete", 2]]);
  await v.waitFrame((f) => !f.includes("backup") && f.includes("primary"));
  v.unmount();
});

test("test shows the latency, or the error in red on the status line and in the details", async () => {
  const { v } = setup();
  await v.waitFrame("backup");
  await v.press("t");
  const ok = await v.waitReport(/channel primary: ok in 42 ms \(HTTP 200\)/);
  expect(ok.kind).toBe("info");
  await v.press(KEY.down, "t");
  const bad = await v.waitReport(/channel backup: failed: HTTP 401: invalid api key/);
  expect(bad.kind).toBe("error");
  await v.press(KEY.enter);
  await v.waitFrame("last test");
  expect(v.frame()).toContain("invalid api key");
  v.unmount();
});

test("filters by name and base URL, not by group", async () => {
  const { v } = setup();
  await v.waitFrame("backup");
  await v.press("/", "up2.example");
  await v.waitFrame((f) => f.includes("/ filter by name, base URL: up2.example▏") && f.includes("backup") && !f.includes("primary"));
  await v.press(KEY.esc, "/", "prim");
  await v.waitFrame((f) => f.includes("primary") && !f.includes("backup"));
  await v.press(KEY.esc, "/", "special");
  await v.waitFrame("nothing matches the filter");
  v.unmount();
});

test("a missing route shows its error in the view and keys still work", async () => {
  const { v, failListWith } = setup();
  failListWith(new AdminRefused(404, "not_found", "no route GET /channels"));
  await v.waitFrame("✗ no route GET /channels (not_found)");
  await v.press("n");
  await v.waitFrame("New channel");
  await v.press(KEY.esc);
  failListWith(null);
  await waitFor(() => (v.frame().includes("primary") && !v.frame().includes("✗") ? true : undefined), "recovery");
  v.unmount();
});

/** Channel types against a real relay: the server stores the type and refuses an azure channel without an api version. */
describe("channel types, against a real relay", () => {
  let h: Harness;
  beforeAll(async () => void (h = await startRelay()));
  afterAll(() => h.close());

  const view = () => renderView(<ChannelsView api={h.admin} active width={110} height={24} pollMs={50} />);
  /** Fills the create form; `right` is how many times to press right on the type field (openai → anthropic → azure). */
  const create = (v: ReturnType<typeof view>, name: string, right: number, baseUrl: string, apiVersion: string, model: string) =>
    v.press("n", name, KEY.enter, ...Array(right).fill(KEY.right), KEY.enter, KEY.enter, baseUrl, KEY.enter, apiVersion, KEY.enter, "sk-up", KEY.enter, model, KEY.enter, KEY.enter, KEY.enter, KEY.enter);
  /** Filters the list down to one channel and opens its details. */
  const details = async (v: ReturnType<typeof view>, name: string) => {
    await v.press("/", name, KEY.enter, KEY.enter);
    return v.waitFrame(`Channel ${name}`);
  };

  test("creates an anthropic channel with the form; the list and the details show its type", async () => {
    const v = view();
    await v.waitFrame("no channels yet");
    await v.press("n", "claude", KEY.enter, KEY.right);
    await v.waitFrame("‹ anthropic ›  Anthropic's Messages API");
    await v.press(KEY.enter, KEY.enter);
    await v.waitFrame("e.g. https://api.anthropic.com");
    await v.press(KEY.esc);
    await create(v, "claude", 1, "https://api.anthropic.com", "", "claude-sonnet-4-5");
    await v.waitReport(/channel claude created/);
    await v.waitFrame(/claude\s+anthropic\s+official\s+0\s+1\s+yes/);
    expect(await h.admin.channels.get((await h.admin.channels.list()).data.find((c) => c.name === "claude")!.id)).toMatchObject({ type: "anthropic", apiVersion: null });
    const f = await details(v, "claude");
    expect(f).toMatch(/type\s+anthropic/);
    expect(f).not.toContain("api version");
    v.unmount();
  });

  test("creates an azure channel with its api version; the details show both", async () => {
    const v = view();
    await v.waitFrame("claude");
    await create(v, "gpt-az", 2, "https://myres.openai.azure.com", "2024-10-21", "gpt-4o");
    await v.waitReport(/channel gpt-az created/);
    await v.waitFrame(/gpt-az\s+azure\s+official/);
    const f = await details(v, "gpt-az");
    expect(f).toMatch(/type\s+azure/);
    expect(f).toMatch(/api version\s+2024-10-21/);
    v.unmount();
  });

  test("an azure channel without an api version is refused: the server's message on the status line and in the form", async () => {
    const v = view();
    await v.waitFrame("claude");
    await create(v, "az-bad", 2, "https://other.openai.azure.com", "", "gpt-4o");
    const refusal = /New channel: apiVersion: is required for an azure channel \(e\.g\. --api-version 2024-10-21\) \(invalid_request\)/;
    expect(await v.waitReport(refusal)).toMatchObject({ kind: "error" });
    await v.waitFrame((f) => f.includes("New channel") && f.includes("apiVersion: is required for an azure channel"));
    expect((await h.admin.channels.list()).data.map((c) => c.name)).not.toContain("az-bad");

    // The same refusal for an edit that makes an anthropic channel azure without a version; the channel keeps its type.
    await v.press(KEY.esc, "/", "claude", KEY.enter, "e");
    await v.waitFrame("Edit channel claude");
    await v.press(KEY.down, KEY.right, ...Array(8).fill(KEY.down), KEY.enter);
    expect(await v.waitReport(/Edit channel claude: apiVersion: is required for an azure channel/)).toMatchObject({ kind: "error" });
    expect((await h.admin.channels.list()).data.find((c) => c.name === "claude")).toMatchObject({ type: "anthropic" });
    v.unmount();
  });

  test("deletes a channel after confirming; the server no longer has it", async () => {
    const v = view();
    await v.waitFrame("gpt-az");
    await v.press("/", "gpt-az", KEY.enter, "d");
    await v.waitFrame("Delete channel gpt-az");
    await v.press("y");
    await v.waitReport(/channel gpt-az deleted/);
    await v.waitFrame("nothing matches the filter");
    expect((await h.admin.channels.list()).data.map((c) => c.name)).toEqual(["claude"]);
    v.unmount();
  });
});
