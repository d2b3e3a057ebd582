import { AdminRefused, type Json, type ListOf } from "../../tui/client";
import type { ChannelRow, LedgerRow, UsageRow, UserRow } from "../../tui/types";

/**
 * In-memory stand-ins for admin routes, shaped like the API's answers, for views whose server side
 * a test cannot drive cheaply (upstream health, live traffic). They record every call.
 */
export function channel(id: number, over: Partial<ChannelRow> = {}): ChannelRow {
  return {
    id, name: `ch${id}`, type: "openai", apiVersion: null, group: "official", baseUrl: `https://up${id}.example/v1`, models: ["gpt-4o"], modelMap: {}, priority: 0, weight: 1,
    enabled: true, headers: {}, firstByteTimeoutMs: null, idleTimeoutMs: null, createdAt: new Date().toISOString(),
    health: { state: "closed", consecutiveFailures: 0, lastError: null, lastErrorAt: null, cooldownUntil: null },
    ...over,
  };
}

export function fakeChannels(rows: ChannelRow[]) {
  const calls: [string, ...unknown[]][] = [];
  let failList: AdminRefused | null = null;
  const find = (id: number | string) => {
    const c = rows.find((r) => r.id === Number(id));
    if (!c) throw new AdminRefused(404, "not_found", `no channel with id ${id}`);
    return c;
  };
  const api = {
    channels: {
      list: async (): Promise<ListOf<Json>> => {
        if (failList) throw failList;
        return { data: structuredClone(rows) };
      },
      create: async (body: Json): Promise<Json> => {
        calls.push(["create", body]);
        if (!/^https?:\/\//.test(String(body.baseUrl))) throw new AdminRefused(400, "invalid_request", "baseUrl: must be an http(s) URL");
        const { apiKey: _secret, ...rest } = body;
        const c = channel(rows.length + 1, rest as Partial<ChannelRow>);
        rows.push(c);
        return c;
      },
      update: async (id: number | string, body: Json): Promise<Json> => {
        calls.push(["update", Number(id), body]);
        const { apiKey: _secret, ...rest } = body;
        return Object.assign(find(id), rest);
      },
      delete: async (id: number | string): Promise<Json> => {
        calls.push(["delete", Number(id)]);
        rows.splice(rows.indexOf(find(id)), 1);
        return { id: Number(id), deleted: true };
      },
      test: async (id: number | string): Promise<Json> => {
        calls.push(["test", Number(id)]);
        const c = find(id);
        return c.health?.state === "closed" ? { ok: true, latencyMs: 42, status: 200 } : { ok: false, latencyMs: 7, status: 401, error: "HTTP 401: invalid api key" };
      },
    },
  };
  return { api, calls, rows, failListWith: (e: AdminRefused | null) => void (failList = e) };
}

export const user = (id: number, name: string): UserRow => ({
  id, name, accountId: id, enabled: true, role: "user", concurrency: 3, monthlyTokens: 0, credits: 0, hasPassword: false,
  createdAt: new Date().toISOString(), balance: 0, heldCredits: 0, inFlight: 0, tokensThisMonth: 0,
});

export function usageRow(id: number, over: Partial<UsageRow> = {}): UsageRow {
  return {
    id, requestId: `req_${id}`, at: new Date().toISOString(), userId: 1, keyId: 1, keyPrefix: "sk-app-AAAAAAAA", sourceIp: "127.0.0.1",
    endpoint: "/v1/chat/completions", model: `model-${id}`, upstreamModel: null, channelId: 1, status: 200, errorCode: null, stream: false,
    promptTokens: 10 * id, completionTokens: id, cachedTokens: 0, cacheWriteTokens: 0, cost: 3 * id, ttfbMs: 5, totalMs: 20, ...over,
  };
}

export function ledgerRow(id: number, over: Partial<LedgerRow> = {}): LedgerRow {
  return { id, at: new Date().toISOString(), userId: 1, kind: "grant", amount: 100, balanceAfter: 100 * id, ref: null, keyId: null, actor: "admin:socket", note: `entry ${id}`, ...over };
}
