import { expect, test } from "bun:test";
import type { KeysApi } from "../../tui/api";
import type { KeyRow } from "../../tui/types";
import { KeysView } from "../../tui/views/keys-view";
import { user } from "./fakes";
import { KEY, renderView } from "./support";

const key: KeyRow = {
  id: 7, accountId: 1, kind: "personal", userId: 1, prefix: "sk-app-TIMELINE", label: "busy", enabled: true, group: "either", allowIps: [], expiresAt: null, models: null,
  spendLimit: 1000, spent: 250, rpm: null, tpm: null, scopes: ["full"], revealable: true, createdAt: new Date().toISOString(), lastUsedAt: new Date().toISOString(),
};
const hourAgo = (n: number) => new Date(Math.floor(Date.now() / 3_600_000) * 3_600_000 - n * 3_600_000).toISOString();

const fakeApi = (asked: [unknown, unknown][] = []) =>
  ({
    users: { list: async () => ({ data: [user(1, "alice")] }) },
    keys: { list: async () => ({ data: [key] }) },
    orgs: { list: async () => ({ data: [] }) },
    keyTimeline: async (id: number | string, hours?: number) => {
      asked.push([id, hours]);
      return { data: [{ hour: hourAgo(0), requests: 8, tokens: 4000 }, { hour: hourAgo(3), requests: 4, tokens: 1000 }, { hour: hourAgo(71), requests: 1, tokens: 10 }] };
    },
  }) as unknown as KeysApi;

test("the details pane draws requests and tokens per hour over 72 hours", async () => {
  const asked: [unknown, unknown][] = [];
  const v = renderView(<KeysView api={fakeApi(asked)} active width={90} height={22} pollMs={50} />);
  await v.waitFrame("sk-app-TIMELINE");
  await v.press(KEY.enter);
  const f = await v.waitFrame(/Σ\s+13/);
  expect(asked[0]).toEqual([7, 72]);
  expect(f).toContain("spent        250 of 1,000");
  const requests = f.split("\n").find((l) => l.startsWith("requests"))!;
  const tokens = f.split("\n").find((l) => l.startsWith("tokens"))!;
  expect(requests).toContain("█");
  expect(requests).toMatch(/█ Σ {4}13$/);
  expect(tokens).toMatch(/█ Σ 5,010$/);
  v.unmount();
});

test.each([80, 120, 200])("at %i columns both sparklines share one x-axis: same first and last column", async (width) => {
  const v = renderView(<KeysView api={fakeApi()} active width={width} height={30} pollMs={50} />);
  await v.waitFrame("sk-app-TIMELINE");
  await v.press(KEY.enter);
  const f = await v.waitFrame(/Σ\s+13/);
  // Both series have values in the first and the last hour, so each line's bars span the whole axis.
  const axis = (label: string) => {
    const line = f.split("\n").find((l) => new RegExp(`(^|[│ ])${label} `).test(l))!;
    const bars = line.match(/[▁-█][ ▁-█]*[▁-█]/)!;
    return { start: [...line.slice(0, bars.index)].length, width: [...bars[0]].length };
  };
  const requests = axis("requests");
  expect(requests.width).toBeGreaterThan(10);
  expect(axis("tokens")).toEqual(requests);
  v.unmount();
});
