import { errorCodes } from "../errors";
import { SCOPES } from "../auth/scopes";

/** Reusable OpenAPI 3.1 schemas. The error codes are read from server/errors.ts, so they cannot drift. */
const str = { type: "string" } as const;
const int = { type: "integer" } as const;
const nullable = (t: string, extra: object = {}) => ({ type: [t, "null"], ...extra });
const dateTime = { type: "string", format: "date-time" } as const;
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const scopeEnum = { type: "string", enum: [...SCOPES, "full"] };

const keyFieldsDoc = {
  label: { ...str, maxLength: 200 },
  group: { type: "string", enum: ["official", "special", "either"], description: "Channel group the key's requests are routed to." },
  allowIps: { type: "array", items: str, maxItems: 100, description: "CIDRs or IPs; empty = anywhere." },
  expiresAt: nullable("string", { description: "ISO 8601 date or date-time; null = never." }),
  models: nullable("array", { items: str, description: "Allowed model names; null = every model." }),
  spendLimit: nullable("integer", { minimum: 0, description: "Credits this key may spend; null = no limit." }),
  rpm: nullable("integer", { minimum: 1, description: "Requests per minute (sliding 60 s window); null = no limit." }),
  tpm: nullable("integer", { minimum: 1, description: "Input plus output tokens per minute; null = no limit." }),
  scopes: { type: "array", items: scopeEnum, minItems: 1, description: "Never more than the calling key holds; `full` = all." },
};

export const components = {
  securitySchemes: {
    bearer: { type: "http", scheme: "bearer", description: "An API key (`sk-app-…`) or a session JWT from POST /v1/auth/login." },
  },
  responses: {
    Error: { description: "Any error.", content: { "application/json": { schema: ref("Error") } } },
  },
  schemas: {
    ErrorCode: { type: "string", enum: Object.keys(errorCodes), description: Object.entries(errorCodes).map(([c, [s]]) => `${c}: ${s}`).join("; ") },
    Error: {
      type: "object",
      required: ["error"],
      properties: {
        error: {
          type: "object",
          required: ["message", "type", "code", "param"],
          properties: { message: str, type: str, code: ref("ErrorCode"), param: nullable("string") },
        },
      },
    },
    LoginRequest: {
      type: "object", additionalProperties: false, required: ["name", "password"],
      properties: { name: { ...str, maxLength: 200 }, password: { ...str, maxLength: 1024 } },
    },
    ChangePasswordRequest: {
      type: "object", additionalProperties: false, required: ["current", "new"],
      properties: { current: { ...str, maxLength: 1024 }, new: { ...str, minLength: 8, maxLength: 1024 } },
    },
    RevokedKeys: { type: "object", properties: { object: { const: "list" }, deleted: int, data: { type: "array", items: ref("DeletedKey") } } },
    LoginResponse: {
      type: "object",
      properties: { token: str, token_type: { const: "Bearer" }, expires_at: dateTime, expires_in: { ...int, description: "Seconds." } },
    },
    Key: {
      type: "object",
      properties: {
        id: int, accountId: { ...int, description: "The account the key charges: its user's own, or an org." },
        kind: { type: "string", enum: ["personal", "member", "service"], description: "A member key acts as its creator in the org; a service key as the org." },
        userId: nullable("integer", { description: "The owner or member; null for a service key." }),
        prefix: { ...str, description: "Public part of the key, safe to show." },
        enabled: { type: "boolean" }, ...keyFieldsDoc, expiresAt: nullable("string", { format: "date-time" }),
        status: { type: "string", enum: ["active", "expiring", "expired", "disabled"], description: "`expiring`: it stops within 30 days (as the old key of a rotation does)." },
        rpm: nullable("integer"), tpm: nullable("integer"),
        revealable: { type: "boolean", description: "False for write-once keys (RELAY_KEY_REVEAL=never, an org set to never, or a key imported by its hash)." },
        spent: int, createdAt: dateTime, lastUsedAt: nullable("string", { format: "date-time" }),
      },
    },
    NewKey: { allOf: [ref("Key"), { type: "object", properties: { key: { ...str, description: "The whole key; shown only this once." } } }] },
    RotatedFrom: {
      type: "object", description: "The key this one replaces, and when it stops working.",
      properties: { id: int, expiresAt: { ...str, format: "date-time" } },
    },
    RotatedKey: { allOf: [ref("NewKey"), { type: "object", properties: { rotatedFrom: ref("RotatedFrom") } }] },
    RotateKeyRequest: {
      type: "object", additionalProperties: false,
      properties: { overlap: { ...str, default: "24h", description: "How long the old key keeps working: `0`, or e.g. `90s`, `30m`, `24h`, `2d`, `1h30m`; at most `30d`." } },
    },
    CreateKeyRequest: { type: "object", additionalProperties: false, properties: keyFieldsDoc },
    UpdateKeyRequest: { type: "object", additionalProperties: false, properties: { ...keyFieldsDoc, enabled: { type: "boolean" } } },
    KeyList: { type: "object", properties: { object: { const: "list" }, data: { type: "array", items: ref("Key") } } },
    DeletedKey: { type: "object", properties: { id: int, object: { const: "key" }, deleted: { const: true } } },
    RevealedKey: { type: "object", properties: { id: int, key: str } },
    Me: {
      type: "object",
      properties: {
        object: { const: "me" }, auth: { type: "string", enum: ["key", "session"] },
        user: { oneOf: [{ type: "object", properties: { id: int, name: str, role: str, enabled: { type: "boolean" }, createdAt: dateTime } }, { type: "null" }], description: "Null for a service key." },
        key: { oneOf: [ref("Key"), { type: "null" }] }, keyKind: nullable("string", { enum: ["personal", "member", "service", null] }),
        org: { oneOf: [{ type: "object", properties: { id: int, name: str, role: nullable("string") } }, { type: "null" }], description: "The org an org key belongs to." },
        accountId: int, scopes: { type: "array", items: scopeEnum, description: "Effective: a member key's scopes narrowed by the member's role." }, ip: str,
        balance: int, heldCredits: int, concurrency: int, inFlight: int, monthlyTokens: { ...int, description: "0 = unlimited." }, tokensThisMonth: int,
        rpm: nullable("integer"), tpm: nullable("integer"),
        memberships: { type: "array", items: { type: "object", properties: { orgId: int, name: str, role: str } }, description: "With a session only." },
      },
    },
    UsageRow: {
      type: "object",
      properties: {
        id: int, requestId: str, at: dateTime, userId: nullable("integer", { description: "The user behind the request; null for a service key." }), keyId: nullable("integer"), keyLabel: str, keyPrefix: str, sourceIp: str, endpoint: str,
        model: str, status: int, errorCode: nullable("string"), stream: { type: "boolean" }, promptTokens: int,
        completionTokens: int, cachedTokens: { ...int, description: "Of promptTokens: read from the prompt cache." },
        cacheWriteTokens: { ...int, description: "Of promptTokens: written to the prompt cache." }, tokensEstimated: { type: "boolean" }, cost: int, shortfall: { ...int, description: "Credits of usage past the hold the balance could not pay (not charged)." }, ttfbMs: nullable("integer"), totalMs: int,
      },
    },
    DayTotal: { type: "object", properties: { day: { type: "string", format: "date" }, requests: int, promptTokens: int, completionTokens: int, cachedTokens: int, cacheWriteTokens: int, cost: int } },
    Usage: {
      type: "object",
      properties: {
        object: { const: "usage" }, from: dateTime, to: nullable("string", { format: "date-time" }), keyId: nullable("integer"),
        data: { type: "array", items: ref("UsageRow"), description: "Newest first." }, hasMore: { type: "boolean" },
        daily: { type: "array", items: ref("DayTotal"), description: "UTC days, oldest first, over the whole range." },
        total: { type: "object", properties: { requests: int, promptTokens: int, completionTokens: int, cachedTokens: int, cacheWriteTokens: int, cost: int } },
      },
    },
    OpenAIRequest: { type: "object", description: "An OpenAI-compatible request body; see the OpenAI API reference.", additionalProperties: true },
    OpenAIResponse: { type: "object", description: "The upstream's OpenAI-compatible response (or an SSE stream when `stream` is true).", additionalProperties: true },
  },
};
