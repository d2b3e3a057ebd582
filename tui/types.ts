/** Rows of the admin API as the views read them. */
export type UserRow = {
  id: number; name: string; enabled: boolean; role: string; concurrency: number; monthlyTokens: number; credits: number;
  hasPassword: boolean; createdAt: string; balance: number; heldCredits: number; inFlight: number; tokensThisMonth: number;
};

export type KeyRow = {
  id: number; userId: number; prefix: string; label: string; enabled: boolean; group: string; allowIps: string[];
  expiresAt: string | number | null; models: string[] | null; spendLimit: number | null; spent: number; scopes: string[];
  createdAt: string; lastUsedAt: string | number | null;
};

export type ChannelHealth = {
  state: "closed" | "open" | "half_open"; consecutiveFailures: number; lastError: string | null;
  lastErrorAt: string | number | null; cooldownUntil: string | number | null;
};

/** Which upstream API a channel speaks: any OpenAI-compatible one, Anthropic's Messages API, or Azure OpenAI. */
export type ChannelType = "openai" | "anthropic" | "azure";

export type ChannelRow = {
  id: number; name: string; type: ChannelType; apiVersion: string | null; group: string; baseUrl: string; models: string[]; modelMap: Record<string, string>;
  priority: number; weight: number; enabled: boolean; headers: Record<string, string>;
  firstByteTimeoutMs: number | null; idleTimeoutMs: number | null; createdAt: string; health?: ChannelHealth;
};

export type UsageRow = {
  id: number; requestId: string; at: string | number; userId: number; keyId: number | null; keyPrefix: string; sourceIp: string;
  endpoint: string; model: string; upstreamModel: string | null; channelId: number | null; status: number;
  errorCode: string | null; stream: boolean; promptTokens: number; completionTokens: number;
  /** Parts of promptTokens, which counts every input token: read from the provider's prompt cache, and written to it. */
  cachedTokens: number; cacheWriteTokens: number;
  cost: number; ttfbMs: number | null; totalMs: number | null; shortfall?: number; errorDetail?: string | null;
};

export type LedgerRow = {
  id: number; at: string | number; userId: number; kind: string; amount: number; balanceAfter: number;
  ref: string | null; keyId: number | null; actor: string | null; note: string | null;
};

export type AuditRow = { id: number; at: string | number; actor: string; action: string; target: string | null; detail: unknown; ip?: string };
