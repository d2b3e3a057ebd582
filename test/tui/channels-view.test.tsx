import { expect, test } from "bun:test";
import { AdminRefused } from "../../tui/client";
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
  expect(f).toMatch(/primary\s+official\s+0\s+1\s+yes\s+ok\s+0\s+-/);
  expect(f).toMatch(/backup\s+special\s+5\s+1\s+yes\s+cooling\s+3\s+HTTP 502 from upstream/);
  v.unmount();
});

test("creates a channel from the form; the upstream key is masked on screen", async () => {
  const { v, calls } = setup();
  await v.waitFrame("backup");
  await v.press("n");
  await v.waitFrame("New channel");
  await v.press("azure", KEY.enter, KEY.enter, "https://azure.example/v1", KEY.enter, "sk-upstream-secret", KEY.enter);
  expect(v.frame()).not.toContain("sk-upstream-secret");
  await v.press("gpt-4o, gpt-4o-mini", KEY.enter, KEY.backspace, "3", KEY.enter, KEY.enter, "fast=gpt-4o-mini", KEY.enter);
  await v.waitReport(/channel azure created/);
  expect(calls[0]).toEqual([
    "create",
    { name: "azure", group: "official", baseUrl: "https://azure.example/v1", apiKey: "sk-upstream-secret", models: ["gpt-4o", "gpt-4o-mini"], priority: 3, weight: 1, modelMap: { fast: "gpt-4o-mini" } },
  ]);
  await v.waitFrame(/azure\s+official\s+3/);
  v.unmount();
});

test("a refused create keeps the form open with the server's message", async () => {
  const { v } = setup();
  await v.waitFrame("backup");
  await v.press("n", "bad", KEY.enter, KEY.enter, "ftp://x", KEY.enter, "k", KEY.enter, KEY.enter, KEY.enter, KEY.enter, KEY.enter);
  await v.waitFrame("baseUrl: must be an http(s) URL (invalid_request)");
  expect(v.frame()).toContain("New channel");
  v.unmount();
});

test("edits a channel without touching its key; toggles it", async () => {
  const { v, calls } = setup();
  await v.waitFrame("backup");
  await v.press(KEY.down, "e");
  await v.waitFrame("Edit channel backup");
  await v.press(KEY.down, KEY.down, KEY.down, KEY.down, KEY.down, KEY.backspace, "9", KEY.down, KEY.down);
  await v.press(KEY.enter);
  await v.waitReport(/channel backup updated/);
  expect(calls[0]).toEqual(["update", 2, { name: "backup", group: "special", baseUrl: "https://up2.example/v1", models: ["gpt-4o"], priority: 9, weight: 1 }]);
  await v.press("x");
  await v.waitReport(/channel backup disabled/);
  expect(calls[1]).toEqual(["update", 2, { enabled: false }]);
  await v.waitFrame(/backup\s+special\s+9\s+1\s+no/);
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
