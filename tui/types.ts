/** Rows of the admin API as the views read them. */
export type UserRow = {
  id: number; name: string; accountId: number; enabled: boolean; role: string; concurrency: number; monthlyTokens: number; credits: number;
  hasPassword: boolean; createdAt: string; balance: number; heldCredits: number; inFlight: number; tokensThisMonth: number;
};

/** Whose a key is: a user's own, an org member's (bounded by their role), or an org's service key (no user behind it). */
export type KeyKind = "personal" | "member" | "service";

export type KeyRow = {
  id: number; accountId: number; kind: KeyKind; userId: number | null; prefix: string; label: string; enabled: boolean; group: string;
  allowIps: string[]; expiresAt: string | number | null; models: string[] | null; spendLimit: number | null; spent: number;
  rpm: number | null; tpm: number | null; scopes: string[];
  /** `expiring`: stops within 30 days, as the old key of a rotation does. Optional: older servers do not send it. */
  status?: "active" | "expiring" | "expired" | "disabled";
  /** False for write-once keys (and keys imported by their hash): relay keeps no copy, so reveal is refused. */
  revealable: boolean;
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
  id: number; at: string | number; accountId?: number; userId: number | null; kind: string; amount: number; balanceAfter: number;
  ref: string | null; keyId: number | null; actor: string | null; note: string | null;
};

export type AuditRow = { id: number; at: string | number; actor: string; action: string; target: string | null; detail: unknown; ip?: string };

export type Role = "owner" | "admin" | "member" | "billing";

/** A member of an org with their caps there (null: no cap of their own). */
export type MemberRow = { userId: number; name: string; role: Role; monthlySpend: number | null; concurrency: number | null; rpm: number | null; tpm: number | null };

/** An organization: an account with members and a shared balance. `id` is its account id (keys' `accountId`). */
export type OrgRow = {
  id: number; name: string; suspended: boolean; models: string[] | null; keyReveal: "always" | "never" | null; credits: number; createdAt: string;
  balance: number; heldCredits: number; concurrency: number; inFlight: number; monthlyTokens: number; tokensThisMonth: number;
  rpm: number | null; tpm: number | null; members: MemberRow[];
  /** How many keys the org has (service and member keys). */
  keys: number;
};

/** Credits per million tokens; null cache rates cost the input rate. */
export type PriceRow = {
  model: string; inputPerMTok: number; outputPerMTok: number; cachedInputPerMTok: number | null; cacheWritePerMTok: number | null;
  perRequest: number; batchDiscount: number; updatedAt: string | number;
};

/** A webhook delivery as the admin API lists it (times in Unix seconds). */
export type DeliveryRow = {
  id: number; event_id: string; webhook_id: number; url: string; type: string; object_id: string;
  status: "pending" | "delivered" | "failed"; attempts: number; last_status: number | null; last_error: string | null;
  next_attempt_at: number | null; created_at: number; updated_at: number;
};
