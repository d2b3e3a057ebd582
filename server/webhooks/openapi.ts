import { z } from "zod";
import { createWebhookBody } from "./model";
import { WEBHOOK_EVENT_TYPES } from "./events";

/**
 * The webhook routes' part of the public OpenAPI document: the self-service paths and the org's, with the
 * same shapes. The request body is generated from the zod schema the service parses with.
 */
const json = (schema: object) => ({ content: { "application/json": { schema } } });
const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const errors = { default: { $ref: "#/components/responses/Error" } };
const auth = (...scopes: string[]) => [{ bearer: scopes }];
const int = { type: "integer" } as const;
const nullable = (type: string) => ({ type: [type, "null"] });
const idParam = { name: "id", in: "path", required: true, schema: { type: "integer", minimum: 1 }, description: "A webhook id; another account's is a 404." };
const orgIdParam = { name: "orgId", in: "path", required: true, schema: { type: "integer", minimum: 1 } };

const { $schema: _drop, ...createRequest } = z.toJSONSchema(createWebhookBody, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;

const ORG = " Under /v1/orgs/{orgId}/webhooks: the org's endpoints, for its owners and admins (and service keys); others get 403 `insufficient_scope`, non-members 403 `org_forbidden`.";
const CREATE = "The URL must be http or https and resolve to public addresses only (loopback, private, link-local, CGNAT, unique-local, unspecified and metadata addresses are a 400 `invalid_request` with param `url`, unless the operator set RELAY_WEBHOOK_ALLOW_PRIVATE). `credits_below` goes with the `credits.low` event. The `whsec_…` secret is in this answer only.";

function paths(prefix: string, org: boolean) {
  const extra = org ? { parameters: [orgIdParam] } : {};
  const note = org ? ORG : "";
  const op = (summary: string, scope: string, ok: { status?: string; schema: object }, more: Record<string, unknown> = {}) => ({
    summary, tags: ["webhooks"], security: auth(scope), responses: { [ok.status ?? "200"]: { description: "OK", ...json(ok.schema) }, ...errors }, ...more,
    description: [more.description, note.trim()].filter(Boolean).join(" "),
  });
  return {
    [prefix]: {
      ...extra,
      get: op("The account's webhook endpoints (never their secrets).", "keys:read", { schema: ref("WebhookList") }),
      post: op("Register an endpoint; returns its signing secret once.", "keys:write", { status: "201", schema: ref("NewWebhook") }, {
        description: CREATE, requestBody: { required: true, ...json(ref("CreateWebhookRequest")) },
      }),
    },
    [`${prefix}/{id}`]: {
      parameters: [...(org ? [orgIdParam] : []), idParam],
      delete: op("Delete an endpoint with its deliveries.", "keys:write", { schema: ref("DeletedWebhook") }),
    },
    [`${prefix}/{id}/rotate`]: {
      parameters: [...(org ? [orgIdParam] : []), idParam],
      post: op("A new signing secret; the previous one also signs every delivery for 24 hours.", "keys:write", { schema: ref("RotatedWebhook") }),
    },
  };
}

export const webhookPaths = { ...paths("/v1/webhooks", false), ...paths("/v1/orgs/{orgId}/webhooks", true) };

const webhook = {
  type: "object",
  required: ["id", "object", "url", "events", "credits_below", "enabled", "disabled_reason", "failing_since", "created_at"],
  properties: {
    id: int, object: { const: "webhook" }, url: { type: "string" }, events: { type: "array", items: { enum: [...WEBHOOK_EVENT_TYPES] } },
    credits_below: nullable("integer"), enabled: { type: "boolean" },
    disabled_reason: { ...nullable("string"), description: "Why relay stopped sending (a delivery failed for the whole retry window)." },
    failing_since: { ...nullable("integer"), description: "Unix seconds: since when deliveries have been failing; null while they succeed." },
    created_at: { ...int, description: "Unix seconds." },
  },
};
const secret = { type: "string", pattern: "^whsec_", description: "Standard Webhooks secret: the HMAC key is the base64 after `whsec_`. Shown once." };

export const webhookSchemas = {
  Webhook: webhook,
  WebhookList: { type: "object", required: ["object", "data"], properties: { object: { const: "list" }, data: { type: "array", items: ref("Webhook") } } },
  NewWebhook: { allOf: [ref("Webhook"), { type: "object", required: ["secret"], properties: { secret } }] },
  RotatedWebhook: { allOf: [ref("Webhook"), { type: "object", required: ["secret", "previous_secret_expires_at"], properties: { secret, previous_secret_expires_at: int } }] },
  DeletedWebhook: { type: "object", required: ["id", "object", "deleted"], properties: { id: int, object: { const: "webhook" }, deleted: { const: true } } },
  CreateWebhookRequest: createRequest,
};
