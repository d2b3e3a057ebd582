import { describe, expect, test } from "bun:test";
import { useState } from "react";
import { AdminRefused, type Json, type ListOf } from "../../tui/client";
import type { LedgerApi, UsageApi } from "../../tui/api";
import { UsageView } from "../../tui/views/usage-view";
import { LedgerView } from "../../tui/views/ledger-view";
import { ledgerRow, usageRow, user } from "./fakes";
import { KEY, renderView } from "./support";

const users = { list: async (): Promise<ListOf<Json>> => ({ data: [user(1, "alice"), user(2, "bob")] }) };

describe("Usage view", () => {
  const live = (initial: number) => {
    let rows = Array.from({ length: initial }, (_, i) => usageRow(initial - i));
    const queries: unknown[] = [];
    const api: UsageApi = {
      users,
      usage: async (q = {}) => {
        queries.push(q);
        return { data: rows };
      },
    };
    /** New requests, newest first, as the server lists them. */
    const arrive = (...ids: number[]) => void (rows = [...ids.map((id) => usageRow(id)), ...rows]);
    return { api, arrive, queries };
  };

  test("shows requests newest first and new ones appear on top while the selection stays on its row", async () => {
    const { api, arrive, queries } = live(3);
    const v = renderView(<UsageView api={api} active width={100} height={12} pollMs={50} />);
    const f = await v.waitFrame("model-3");
    expect(f.indexOf("model-3")).toBeLessThan(f.indexOf("model-1"));
    expect(f).toMatch(/alice\s+model-3\s+200\s+30\s+0\s+3\s+9\s+20\s+AAAAAAAA\s+127\.0\.0\.1/);
    expect(queries[0]).toEqual({ limit: 500 });
    await v.press(KEY.down, KEY.enter);
    await v.waitFrame("Request req_2");
    arrive(5, 4);
    await v.press(KEY.esc);
    const g = await v.waitFrame("model-5");
    expect(g.indexOf("model-5")).toBeLessThan(g.indexOf("model-4"));
    await v.press(KEY.enter);
    await v.waitFrame("Request req_2");
    v.unmount();
  });

  test("a long list scrolls to the end and back; the window is the available height", async () => {
    const { api } = live(100);
    const v = renderView(<UsageView api={api} active width={100} height={12} pollMs={50} />);
    await v.waitFrame("model-100");
    expect(v.frame().split("\n").filter((l) => l.includes("model-")).length).toBe(10);
    await v.press("G");
    const end = await v.waitFrame("row 100");
    expect(end).toContain("model-1 ");
    expect(end).not.toContain("model-100");
    await v.press("g");
    await v.waitFrame("row 1 ");
    await v.press(KEY.down, KEY.down, "\x1b[6~");
    await v.waitFrame("row 12");
    v.unmount();
  });

  test("at 80 columns a row shows the key's public id and the model cut in the middle", async () => {
    const rows = [
      usageRow(3, { keyPrefix: "acme-prod-Zz9Yx8Wv", model: "gpt-4o-mini" }),
      usageRow(2, { keyPrefix: "session", model: "gpt-4o" }),
      usageRow(1, { keyPrefix: "sk-app-U3abcdEF", model: "claude-sonnet-4-20250514" }),
    ];
    const api: UsageApi = { users, usage: async () => ({ data: rows }) };
    const v = renderView(<UsageView api={api} active width={80} height={12} pollMs={50} />);
    const f = await v.waitFrame("U3abcdEF");
    for (const l of f.split("\n")) expect([...l].length).toBeLessThanOrEqual(80);
    const line = (id: string) => f.split("\n").find((l) => l.includes(id))!;
    expect(line("U3abcdEF")).toMatch(/alice\s+claud…0514\s+200\s+10\s+0\s+1\s+3\s+20\s+U3abcdEF$/);
    expect(line("Zz9Yx8Wv")).toMatch(/alice\s+gpt-4…mini\s+200\s.*\sZz9Yx8Wv$/);
    expect(line("session")).toMatch(/alice\s+gpt-4o\s+200\s.*\ssession$/);
    expect(f).not.toContain("sk-app");
    v.unmount();
  });

  describe("prompt cache tokens, parts of the input", () => {
    const cached = [
      usageRow(3, { model: "claude-4", promptTokens: 1210, cachedTokens: 1000, cacheWriteTokens: 200, completionTokens: 50 }),
      usageRow(2, { model: "gpt-4o", promptTokens: 128_000, cachedTokens: 120_000, completionTokens: 7 }),
      usageRow(1, { model: "tiny-1", promptTokens: 10, completionTokens: 1 }),
    ];
    const api: UsageApi = { users, usage: async () => ({ data: cached }) };
    const lines = (f: string) => f.split("\n");
    const lineOf = (f: string, model: string) => lines(f).find((l) => l.includes(` ${model} `))!;

    test("at 80 columns the list has a CACHED column beside IN, and still the key; the details give all three counts", async () => {
      const v = renderView(<UsageView api={api} active width={80} height={20} pollMs={50} />);
      const f = await v.waitFrame("claude-4");
      for (const l of lines(f)) expect([...l].length).toBeLessThanOrEqual(80);
      expect(lines(f)[1]).toMatch(/\sIN CACHED\s+OUT\s+COST\s+MS KEY\s*$/);
      expect(lineOf(f, "claude-4")).toMatch(/\s200\s+1,210\s+1,000\s+50\s+9\s+20 AAAAAAAA$/);
      // 120,000 is too long for the narrow column: it shows its size, not "120,0…".
      expect(lineOf(f, "gpt-4o")).toMatch(/\s200\s+128,000\s+120k\s+7\s+6\s+20 AAAAAAAA$/);
      expect(lineOf(f, "tiny-1")).toMatch(/\s200\s+10\s+0\s+1\s+3\s+20 AAAAAAAA$/);
      await v.press(KEY.enter);
      const d = await v.waitFrame("Request req_3");
      expect(d).toMatch(/tokens\s+1,210 in \(1,000 cached, 200 cache write\), 50 out\n/);
      await v.press(KEY.esc, KEY.down, KEY.enter);
      expect(await v.waitFrame("Request req_2")).toMatch(/tokens\s+128,000 in \(120,000 cached\), 7 out\n/);
      await v.press(KEY.esc, KEY.down, KEY.enter);
      expect(await v.waitFrame("Request req_1")).toMatch(/tokens\s+10 in, 1 out\n/);
      v.unmount();
    });

    test("at 120 columns the list adds the cache writes; the details beside it wrap the token counts", async () => {
      const v = renderView(<UsageView api={api} active width={120} height={28} pollMs={50} />);
      const f = await v.waitFrame("claude-4");
      expect(lines(f)[1]).toMatch(/\sIN\s+CACHED\s+WRITE\s+OUT\s+COST\s+MS KEY\s+IP\s*$/);
      expect(lineOf(f, "claude-4")).toMatch(/\s200\s+1,210\s+1,000\s+200\s+50\s+9\s+20 AAAAAAAA 127\.0\.0\.1\s*$/);
      expect(lineOf(f, "gpt-4o")).toMatch(/\s200\s+128,000\s+120,000\s+0\s+7\s+6\s+20 AAAAAAAA/);
      await v.press(KEY.enter);
      const d = await v.waitFrame("Request req_3");
      // The table gives up 45% of the width: it keeps IN and CACHED, the pane has the writes.
      expect(lines(d)[1]).toMatch(/\sIN CACHED\s+OUT\s+COST/);
      expect(lines(d)[1]).not.toContain("WRITE");
      expect(d).toMatch(/│ tokens\s+1,210 in \(1,000 cached,\s*\n.*│\s+200 cache write\), 50 out\s*\n.*│ cost\s+9\s*\n/);
      v.unmount();
    });
  });

  test("filters by key or model, not by user or status", async () => {
    const rows = Array.from({ length: 12 }, (_, i) => usageRow(12 - i, i % 3 ? {} : { keyPrefix: "sk-app-BBBBbbbb" }));
    const api: UsageApi = { users, usage: async () => ({ data: rows }) };
    const v = renderView(<UsageView api={api} active width={100} height={20} pollMs={50} />);
    await v.waitFrame("model-12");
    await v.press("/", "model-1");
    const f = await v.waitFrame("/ filter by key, model: model-1▏");
    expect(f).toContain("4 of 12");
    await v.press(KEY.esc, "/", "bbbb");
    await v.waitFrame((fr) => fr.includes("4 of 12") && !fr.includes("AAAAAAAA"));
    for (const notMeant of ["alice", "200"]) {
      await v.press(KEY.esc, "/", notMeant);
      await v.waitFrame((fr) => fr.includes(`filter by key, model: ${notMeant}▏`) && fr.includes("nothing matches the filter"));
    }
    await v.press(KEY.esc);
    await v.waitFrame((fr) => fr.includes("Usage 12"));
    v.unmount();
  });
});

describe("Ledger view", () => {
  const ledgerApi = (fail = false) => {
    const asked: string[] = [];
    const api: LedgerApi = {
      users,
      credits: {
        ledger: async (name: string) => {
          asked.push(name);
          if (fail) throw new AdminRefused(404, "not_found", `no user named ${name}`);
          return { data: name === "bob" ? [ledgerRow(2, { kind: "charge", amount: -30, balanceAfter: 170, keyId: 4, note: null, ref: "req_9" }), ledgerRow(1, { amount: 200, balanceAfter: 200, note: "welcome" })] : [] };
        },
      },
    };
    return { api, asked };
  };
  function Host({ api }: { api: LedgerApi }) {
    const [who, setWho] = useState<string | null>(null);
    return <LedgerView api={api} active width={100} height={14} pollMs={50} user={who} onChooseUser={setWho} />;
  }

  test("asks for a user, then shows that user's ledger newest first", async () => {
    const { api, asked } = ledgerApi();
    const v = renderView(<Host api={api} />);
    await v.waitFrame("no user chosen: press u");
    expect(asked).toEqual([]);
    await v.press("u");
    await v.waitFrame("Whose ledger?");
    await v.press(KEY.down, KEY.enter);
    const f = await v.waitFrame("Ledger of bob");
    expect(f).toMatch(/charge\s+-30\s+170\s+4\s+admin:socket\s+req_9/);
    expect(f).toMatch(/grant\s+\+200\s+200\s+-\s+admin:socket\s+welcome/);
    expect(f.indexOf("charge")).toBeLessThan(f.indexOf("welcome"));
    expect(asked).toContain("bob");
    v.unmount();
  });

  test("filters by kind, ref and note, not by actor", async () => {
    const { api } = ledgerApi();
    const v = renderView(<Host api={api} />);
    await v.waitFrame("no user chosen");
    await v.press("u", KEY.down, KEY.enter);
    await v.waitFrame("Ledger of bob");
    await v.press("/", "req_9");
    await v.waitFrame((f) => f.includes("/ filter by kind, ref, note: req_9▏") && f.includes("1 of 2") && f.includes("charge"));
    await v.press(KEY.esc, "/", "welc");
    await v.waitFrame((f) => f.includes("1 of 2") && f.includes("welcome") && !f.includes("charge"));
    await v.press(KEY.esc, "/", "admin");
    await v.waitFrame("nothing matches the filter");
    v.unmount();
  });

  test("a refused ledger shows the error", async () => {
    const { api } = ledgerApi(true);
    const v = renderView(<Host api={api} />);
    await v.waitFrame("no user chosen");
    await v.press("u", KEY.enter);
    await v.waitFrame("✗ no user named alice (not_found)");
    v.unmount();
  });
});
