import { afterAll, beforeAll, expect, test } from "bun:test";
import { startRelay, type Harness } from "../support/harness";
import { PricesView } from "../../tui/views/prices-view";
import type { PricesApi } from "../../tui/api";
import { KEY, renderView, waitFor } from "./support";

let h: Harness;
beforeAll(async () => {
  h = await startRelay();
  await h.admin.prices.set("gpt-4o", { inputPerMTok: 2500, outputPerMTok: 10000, cachedInputPerMTok: 1250 });
  await h.admin.prices.set("claude-sonnet-4-5-20250929", { inputPerMTok: 3000, outputPerMTok: 15000, cachedInputPerMTok: 300, cacheWritePerMTok: 3750, perRequest: 2 });
});
afterAll(() => h.close());

const view = (api: PricesApi = h.admin, width = 100) => renderView(<PricesView api={api} active width={width} height={20} pollMs={50} />);
const price = async (model: string) => (await h.admin.prices.list()).data.find((p) => p.model === model);

test("lists every rate; a cache rate left unset shows as the input rate", async () => {
  const v = view();
  const f = await v.waitFrame("gpt-4o");
  expect(f).toMatch(/MODEL\s+INPUT\s+OUTPUT\s+CACHED\s+WRITE\s+PER REQ\s+UPDATED/);
  expect(f).toMatch(/gpt-4o\s+2,500\s+10,000\s+1,250\s+= input\s+0/);
  expect(f).toMatch(/claude-sonnet-4-5-20250929\s+3,000\s+15,000\s+300\s+3,750\s+2/);
  v.unmount();
});

test("at 80 columns every column stays and a long model name loses its middle", async () => {
  const v = view(h.admin, 80);
  const f = await v.waitFrame("gpt-4o");
  expect(f).toMatch(/claude-son…-20250929\s+3,000\s+15,000\s+300\s+3,750\s+2/);
  for (const l of f.split("\n")) expect([...l].length).toBeLessThanOrEqual(80);
  v.unmount();
});

test("sets a price with the form; the model is its key", async () => {
  const v = view();
  await v.waitFrame("gpt-4o");
  await v.press("n");
  await v.waitFrame("Set a model's price");
  await v.press("gpt-4o-mini", KEY.enter, "150", KEY.enter, "600", KEY.enter, KEY.enter, KEY.enter, "1", KEY.enter, KEY.backspace, KEY.backspace, "20", KEY.enter);
  await v.waitReport(/price of gpt-4o-mini set/);
  await v.waitFrame(/gpt-4o-mini\s+150\s+600\s+= input\s+= input\s+1/);
  expect(await price("gpt-4o-mini")).toMatchObject({ inputPerMTok: 150, outputPerMTok: 600, cachedInputPerMTok: null, cacheWritePerMTok: null, perRequest: 1, batchDiscount: 20 });
  v.unmount();
});

test("changes the selected price: the form opens with its rates; a cleared cache rate goes back to the input rate", async () => {
  const sent: unknown[] = [];
  const api = { prices: { ...h.admin.prices, set: (model: string, body: Parameters<typeof h.admin.prices.set>[1]) => (sent.push([model, body]), h.admin.prices.set(model, body)) } };
  const v = view(api);
  await v.waitFrame("gpt-4o");
  await v.press("/", "gpt-4o", KEY.enter);
  await v.waitFrame((f) => f.includes("filter by model: gpt-4o") && /gpt-4o\s+2,500/.test(f));
  await v.press("e");
  const f = await v.waitFrame("Price of gpt-4o");
  expect(f).toMatch(/Input\*\s+2500/);
  expect(f).toMatch(/Cached input\s+1250/);
  await v.press(KEY.down, KEY.backspace, KEY.backspace, KEY.backspace, KEY.backspace, KEY.backspace, "12000", KEY.down, KEY.backspace, KEY.backspace, KEY.backspace, KEY.backspace, KEY.down, KEY.down, KEY.down, KEY.enter);
  await v.waitReport(/price of gpt-4o updated/);
  expect(sent).toEqual([["gpt-4o", { inputPerMTok: 2500, outputPerMTok: 12000, cachedInputPerMTok: null, cacheWritePerMTok: null, perRequest: 0, batchDiscount: 50 }]]);
  expect(await price("gpt-4o")).toMatchObject({ outputPerMTok: 12000, cachedInputPerMTok: null });
  await v.waitFrame(/gpt-4o\s+2,500\s+12,000\s+= input/);
  v.unmount();
});

test("a bad number is caught before sending; a refused price keeps the form with the server's reason", async () => {
  const v = view();
  await v.waitFrame("gpt-4o");
  await v.press("n", "m1", KEY.enter, "lots", KEY.enter, "1", KEY.enter, KEY.enter, KEY.enter, KEY.enter, KEY.enter);
  await v.waitFrame("Input: 'lots' is not a whole number");
  await v.press(KEY.up, KEY.up, KEY.up, KEY.up, KEY.up, KEY.backspace, KEY.backspace, KEY.backspace, KEY.backspace, "-5", KEY.down, KEY.down, KEY.down, KEY.down, KEY.down, KEY.enter);
  const refused = await v.waitReport(/Set a model's price: .*inputPerMTok/);
  expect(refused.kind).toBe("error");
  expect(v.frame()).toContain("Set a model's price");
  expect(await price("m1")).toBeUndefined();
  v.unmount();
});

test("delete asks first; n keeps the price, y deletes it", async () => {
  const v = view();
  await v.waitFrame("claude-sonnet");
  await v.press("/", "claude", KEY.enter, "d");
  await v.waitFrame("Delete the price of claude-sonnet-4-5-20250929? Requests for it cost");
  await v.press("n");
  await v.waitFrame((f) => !f.includes("Delete the price"));
  expect(await price("claude-sonnet-4-5-20250929")).toBeDefined();
  await v.press("d", "y");
  await v.waitReport(/price of claude-sonnet-4-5-20250929 deleted/);
  await waitFor(() => price("claude-sonnet-4-5-20250929").then((p) => (p ? undefined : true)), "the price to be gone");
  await v.waitFrame("nothing matches the filter");
  v.unmount();
});

test("the details say what an unset cache rate costs", async () => {
  const v = view(h.admin, 90);
  await v.waitFrame("gpt-4o-mini");
  await v.press("/", "mini", KEY.enter, KEY.enter);
  const f = await v.waitFrame("Price of gpt-4o-mini");
  expect(f).toMatch(/cached input\s+the input rate \(150\)/);
  expect(f).toMatch(/per request\s+1/);
  expect(f).toMatch(/batch discount\s+20%/);
  v.unmount();
});
