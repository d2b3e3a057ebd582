import { z } from "zod";
import { createKeyInput } from "../keys/model";
import { createOrgInput, memberInput, updateMemberInput } from "../accounts/model";
import { ROLES } from "../../db/schema";

/**
 * The org API's part of the OpenAPI document. Request bodies are generated from the zod schemas the
 * routes parse with, so the document cannot drift from what the server accepts.
 */
const json = (schema: object) => ({ content: { "application/json": { schema } } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const errors = { default: { $ref: "#/components/responses/Error" } };
const auth = (...scopes: string[]) => [{ bearer: scopes }];
const str = { type: "string" } as const;
const int = { type: "integer" } as const;
const nullableInt = { type: ["integer", "null"] } as const;
const dateTime = { type: "string", format: "date-time" } as const;

/** A zod schema as a request body's JSON Schema (what clients send: defaults are optional). */
function bodyOf(schema: z.ZodType): object {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
  return rest;
}

const { label: _label, ...keyFieldsOnly } = createKeyInput.shape;
const createOrgKeyRequest = z.strictObject({
  ...keyFieldsOnly,
  name: z.string().max(200).default("").describe("The key's label."),
  service: z.boolean().default(false).describe("A service key acts as the org itself and survives membership changes; only owners and admins make one."),
});

const FORBIDDEN = "Another org's key, or an org the caller is not a member of (or that does not exist): 403 `org_forbidden`, never its data. A missing scope or too small a role: 403 `insufficient_scope`. A suspended org's keys: 403 `org_suspended`.";

function op(summary: string, scopes: string[], ok: { status?: string; schema: object }, extra: Record<string, unknown> = {}) {
  const description = [extra.description, FORBIDDEN].filter(Boolean).join(" ");
  return { summary, tags: ["orgs"], security: auth(...scopes), responses: { [ok.status ?? "200"]: { description: "OK", ...json(ok.schema) }, ...errors }, ...extra, description };
}

const orgIdParam = { name: "orgId", in: "path", required: true, schema: { type: "integer", minimum: 1 } };
const userIdParam = { name: "userId", in: "path", required: true, schema: { type: "integer", minimum: 1 } };
const keyIdParam = { name: "id", in: "path", required: true, schema: { type: "integer", minimum: 1 } };
const usageQuery = [
  { name: "from", in: "query", schema: str, description: "ISO date or date-time, inclusive; default 30 days before `to`." },
  { name: "to", in: "query", schema: str, description: "ISO date-time (exclusive) or date (through the end of that UTC day); default now." },
  { name: "key_id", in: "query", schema: { type: "integer", minimum: 1 }, description: "Only this key's rows." },
  { name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 1000, default: 100 }, description: "Rows returned, newest first." },
];

export const orgPaths = {
  "/v1/orgs": {
    post: op("Create an org (session only); the caller becomes its owner.", [], { status: "201", schema: ref("Org") }, {
      description: "An API key gets 403 `session_required`. A taken name: 409 `conflict`.",
      requestBody: { required: true, ...json(ref("CreateOrgRequest")) },
    }),
    get: op("The caller's orgs, with their role and the org's balance. With an org key: that org.", [], { schema: ref("OrgList") }),
  },
  "/v1/orgs/{orgId}": {
    parameters: [orgIdParam],
    get: op("One org the caller belongs to, with role, balance and limits.", [], { schema: ref("Org") }),
    patch: op("Rename the org or set whether its keys can be revealed (owners only).", [], { schema: ref("Org") }, {
      description: "Limits, the model allow-list, credits and suspension are the operator's (`relay admin org update`). `keyReveal: never` makes keys created from now on write-once.",
      requestBody: { required: true, ...json(ref("UpdateOrgRequest")) },
    }),
    delete: op("Delete the org with its memberships and keys (owners only); its ledger and usage history stay.", [], { schema: ref("DeletedOrg") }, {
      description: "An org that still holds credits is refused with 409 `conflict`.",
    }),
  },
  "/v1/orgs/{orgId}/members": {
    parameters: [orgIdParam],
    get: op("The org's members with roles and caps.", ["members:read"], { schema: ref("MemberList") }),
    post: op("Add a user by name, with a role and optional caps.", ["members:write"], { status: "201", schema: ref("Member") }, {
      description: "Owners and admins; only owners add owners.",
      requestBody: { required: true, ...json(ref("AddMemberRequest")) },
    }),
  },
  "/v1/orgs/{orgId}/members/{userId}": {
    parameters: [orgIdParam, userIdParam],
    patch: op("Change a member's role or caps; effective from their next request.", ["members:write"], { schema: ref("Member") }, {
      description: "Admins manage members but not owners; only owners make or demote owners; the last owner cannot be demoted (409 `conflict`).",
      requestBody: { required: true, ...json(ref("UpdateMemberRequest")) },
    }),
    delete: op("Remove a member (anyone may remove themselves); their member keys stop at once.", ["members:write"], { schema: ref("DeletedMember") }, {
      description: "The last owner cannot leave (409 `conflict`).",
    }),
  },
  "/v1/orgs/{orgId}/api-keys": {
    parameters: [orgIdParam],
    get: op("The org's keys: every key for owners, admins and service keys; their own for members and billing.", ["keys:read"], { schema: ref("OrgKeyList") }),
  },
  "/v1/orgs/{orgId}/api-keys/create": {
    parameters: [orgIdParam],
    post: op("Create a member key (acts as its creator, bounded by their role) or a service key (acts as the org).", ["keys:write"], { status: "201", schema: ref("NewOrgKey") }, {
      description: "The plaintext is returned once, under `key`, beside `keyPrefix`. A key is never granted a scope its creator lacks in the org (403 `insufficient_scope`).",
      requestBody: { required: true, ...json(ref("CreateOrgKeyRequest")) },
    }),
  },
  "/v1/orgs/{orgId}/api-keys/{id}": {
    parameters: [orgIdParam, keyIdParam],
    delete: op("Revoke a key; it stops on the next request, and its running requests end.", ["keys:write"], { schema: ref("DeletedKey") }, {
      description: "Members revoke their own member keys; owners and admins any of the org's. Another org's key id: 404 `not_found`.",
    }),
  },
  "/v1/orgs/{orgId}/api-keys/{id}/rotate": {
    parameters: [orgIdParam, keyIdParam],
    post: op("Replace a key with a new one of the same settings; the old one keeps working for `overlap` (default 24h, at most 30d).", ["keys:write"], { status: "201", schema: ref("RotatedOrgKey") }, {
      description: "Members rotate their own member keys; owners and admins any of the org's (service keys too). The new plaintext is returned once, under `key`, with `rotatedFrom`.",
      requestBody: { required: false, ...json(ref("RotateKeyRequest")) },
    }),
  },
  "/v1/orgs/{orgId}/usage": {
    parameters: [orgIdParam],
    get: op("The org's usage rows and per-day totals, as /v1/usage.", ["usage:read"], { schema: ref("Usage") }, { parameters: usageQuery }),
  },
  "/v1/orgs/{orgId}/ledger": {
    parameters: [orgIdParam],
    get: op("The org's credit ledger, newest first, with its live balance.", ["billing:read"], { schema: ref("Ledger") }, {
      parameters: [{ name: "limit", in: "query", schema: { type: "integer", minimum: 1, maximum: 1000, default: 100 } }],
    }),
  },
};

const role = { type: "string", enum: [...ROLES] };
const accountFields = {
  balance: int, heldCredits: int, concurrency: int, inFlight: int, monthlyTokens: { ...int, description: "0 = unlimited." },
  tokensThisMonth: int, rpm: nullableInt, tpm: nullableInt,
};

export const orgSchemas = {
  CreateOrgRequest: bodyOf(z.strictObject({ name: createOrgInput.shape.name })),
  UpdateOrgRequest: bodyOf(z.strictObject({ name: createOrgInput.shape.name.optional(), keyReveal: z.enum(["always", "never"]).nullable().optional() })),
  DeletedOrg: { type: "object", properties: { object: { const: "organization" }, id: int, deleted: { const: true } } },
  AddMemberRequest: bodyOf(memberInput),
  UpdateMemberRequest: bodyOf(updateMemberInput),
  CreateOrgKeyRequest: bodyOf(createOrgKeyRequest),
  Org: {
    type: "object",
    properties: {
      object: { const: "organization" }, id: int, name: str,
      role: { type: ["string", "null"], enum: [...ROLES, "service", null], description: "The caller's role; `service` for a service key." },
      suspended: { type: "boolean" }, models: { type: ["array", "null"], items: str, description: "The org's model allow-list; null = every model." },
      ...accountFields,
    },
  },
  OrgList: { type: "object", properties: { object: { const: "list" }, data: { type: "array", items: ref("Org") } } },
  Member: {
    type: "object",
    properties: {
      userId: int, name: str, role, monthlySpend: { ...nullableInt, description: "Credits per UTC month the member's keys may spend; null = no cap." },
      concurrency: nullableInt, rpm: nullableInt, tpm: nullableInt, createdAt: dateTime,
    },
  },
  MemberList: { type: "object", properties: { object: { const: "list" }, data: { type: "array", items: ref("Member") } } },
  DeletedMember: { type: "object", properties: { object: { const: "member" }, userId: int, deleted: { const: true } } },
  OrgKey: {
    allOf: [ref("Key"), {
      type: "object",
      properties: { name: { ...str, description: "The key's label." }, keyPrefix: { ...str, description: "The key's public prefix, safe to show and log." } },
    }],
  },
  NewOrgKey: { allOf: [ref("OrgKey"), { type: "object", properties: { key: { ...str, description: "The whole key; shown only this once." } } }] },
  RotatedOrgKey: { allOf: [ref("NewOrgKey"), { type: "object", properties: { rotatedFrom: ref("RotatedFrom") } }] },
  OrgKeyList: { type: "object", properties: { object: { const: "list" }, data: { type: "array", items: ref("OrgKey") } } },
  Ledger: {
    type: "object",
    properties: {
      object: { const: "list" }, balance: int,
      data: {
        type: "array",
        items: {
          type: "object",
          properties: {
            id: int, at: dateTime, accountId: int, userId: nullableInt, kind: { type: "string", enum: ["grant", "charge", "refund", "adjust"] },
            amount: int, balanceAfter: int, ref: { ...str, description: "The request id of a charge; a grant's idempotency ref." }, keyId: nullableInt, actor: str, note: str,
          },
        },
      },
    },
  },
};
