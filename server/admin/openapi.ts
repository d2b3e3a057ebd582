import { Elysia } from "elysia";
import { z } from "zod";
import pkg from "../../package.json";
import { errorCodes } from "../errors";
import { createUserInput, updateUserInput } from "../users/model";
import { createOrgInput, memberInput, updateMemberInput, updateOrgInput } from "../accounts/model";
import { createKeyInput, updateKeyInput } from "../keys/model";
import { createChannelInput, updateChannelInput } from "../channels/model";
import { setPriceInput } from "../billing/prices";
import { grantBody } from "./billing-routes";
import { createWebhookBody } from "../webhooks/model";

/**
 * The OpenAPI 3.1 description of the admin API on the Unix socket (`GET /openapi.json` there).
 * Routes are listed as data, next to each other, so adding a route means adding a line here.
 */
type Route = [method: string, path: string, summary: string, body?: string, query?: string[]];

const routes: Route[] = [
  ["get", "/health", "Server health: version, uptime, listen address, master key id, pending writes"],
  ["get", "/metrics", "Prometheus text: requests by status/model/channel, in flight per account, refusals, upstream latency, credits charged"],
  ["get", "/audit", "Audit log, newest first", undefined, ["limit", "before"]],
  ["post", "/master-key/rotate", "Add a new master key and re-encrypt every secret with it"],
  ["get", "/users", "Users with live balance, held credits, in-flight requests and tokens this month"],
  ["post", "/users", "Create a user (and their personal account)", "CreateUser"],
  ["get", "/users/{name}", "One user"],
  ["patch", "/users/{name}", "Change a user's role, limits, state or password", "UpdateUser"],
  ["post", "/users/{name}/credits", "Grant credits to a user's account (negative: adjust); idempotent by `ref`", "Grant"],
  ["get", "/users/{name}/ledger", "A user's ledger, newest first", undefined, ["limit"]],
  ["get", "/orgs", "Organizations with live balance, held credits, in flight, members and key count"],
  ["post", "/orgs", "Create an org; `owner` (a user name) becomes its first owner", "CreateOrg"],
  ["get", "/orgs/{name}", "One org with its members"],
  ["patch", "/orgs/{name}", "Change an org's name, limits, model allow-list, key reveal setting or suspension", "UpdateOrg"],
  ["delete", "/orgs/{name}", "Delete an org and its keys (its ledger and usage stay)"],
  ["post", "/orgs/{name}/members", "Add a member with a role and optional caps", "AddMember"],
  ["patch", "/orgs/{name}/members/{user}", "Change a member's role or caps", "UpdateMember"],
  ["delete", "/orgs/{name}/members/{user}", "Remove a member; their member keys stop on the next request"],
  ["post", "/orgs/{name}/credits", "Grant credits to an org (negative: adjust); idempotent by `ref`", "Grant"],
  ["get", "/orgs/{name}/ledger", "An org's ledger, newest first", undefined, ["limit"]],
  ["get", "/keys", "API keys (public prefixes only)", undefined, ["user", "org"]],
  ["post", "/keys", "Create a key (personal: `user`; org: `org` with `service` or `member`); the plaintext is returned once under `key`", "CreateKey"],
  ["post", "/keys/import", "Import an existing key by plaintext (`key`) or digest (`sha256`, not revealable); an existing key is refused", "ImportKey"],
  ["get", "/keys/{id}", "One key"],
  ["patch", "/keys/{id}", "Change a key's label, state or limits", "UpdateKey"],
  ["delete", "/keys/{id}", "Delete a key (effective on the next request; its running requests are cut)"],
  ["delete", "/users/{name}/keys", "Delete every key of a user (effective on the next request; running requests are cut)"],
  ["post", "/keys/{id}/rotate", "Replace a key with a new one of the same settings (label + ` (rotated)`), plaintext once under `key`; the old key works for `overlap` (default 24h, at most 30d), then expires", "RotateKey"],
  ["post", "/keys/{id}/reveal", "Decrypt a key (audited); write-once keys answer 403 `reveal_disabled`"],
  ["get", "/keys/{id}/timeline", "Requests and tokens per hour", undefined, ["hours"]],
  ["get", "/channels", "Channels with their health (breaker state, failures, last error)"],
  ["post", "/channels", "Create a channel", "CreateChannel"],
  ["get", "/channels/{id}", "One channel"],
  ["patch", "/channels/{id}", "Change a channel", "UpdateChannel"],
  ["delete", "/channels/{id}", "Delete a channel"],
  ["post", "/channels/{id}/test", "Send a one-token request to the channel; latency or error"],
  ["post", "/channels/{id}/reveal", "Decrypt the channel's upstream key (audited)"],
  ["get", "/prices", "Model prices (credits per million tokens, and per request)"],
  ["put", "/prices/{model}", "Set a model's price", "Price"],
  ["delete", "/prices/{model}", "Remove a model's price"],
  ["get", "/usage", "Usage log, newest first", undefined, ["user", "org", "key", "limit", "before"]],
  ["get", "/webhooks", "Webhook endpoints (never their secrets), of one user or org or all", undefined, ["user", "org"]],
  ["post", "/webhooks", "Register a webhook endpoint for `user` or `org`; its `whsec_` secret is returned once", "CreateWebhook"],
  ["delete", "/webhooks/{id}", "Delete a webhook endpoint with its deliveries"],
  ["post", "/webhooks/{id}/rotate", "A new signing secret; the previous one also signs for 24 hours"],
  ["get", "/webhooks/deliveries", "Webhook deliveries, newest first, with attempts and the last status or error", undefined, ["webhook", "limit"]],
  ["get", "/webhooks/deliveries/{id}/attempts", "Every attempt of one delivery: when, HTTP status or error, duration"],
  ["get", "/openapi.json", "This document"],
];

/** A zod schema as the JSON Schema of what clients send (defaults optional), without the $schema line. */
function bodyOf(schema: z.ZodType): object {
  const { $schema: _drop, ...rest } = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
  return rest;
}

const owner = { user: z.string().optional(), org: z.string().optional(), service: z.boolean().optional(), member: z.string().optional() };
const schemas = {
  Error: {
    type: "object",
    properties: {
      error: { type: "object", properties: { message: { type: "string" }, type: { type: "string" }, code: { enum: Object.keys(errorCodes) }, param: { type: ["string", "null"] } } },
    },
  },
  CreateUser: bodyOf(createUserInput),
  UpdateUser: bodyOf(updateUserInput),
  CreateOrg: bodyOf(createOrgInput.extend({ owner: z.string().optional() })),
  UpdateOrg: bodyOf(updateOrgInput),
  AddMember: bodyOf(memberInput),
  UpdateMember: bodyOf(updateMemberInput),
  Grant: bodyOf(grantBody),
  CreateKey: bodyOf(createKeyInput.extend(owner)),
  ImportKey: bodyOf(createKeyInput.extend({ ...owner, key: z.string().min(8).max(512).optional(), sha256: z.string().regex(/^[0-9a-f]{64}$/).optional() })),
  UpdateKey: bodyOf(updateKeyInput),
  RotateKey: bodyOf(z.strictObject({ overlap: z.string().optional() })),
  CreateChannel: bodyOf(createChannelInput),
  UpdateChannel: bodyOf(updateChannelInput),
  Price: bodyOf(setPriceInput),
  CreateWebhook: bodyOf(createWebhookBody.extend({ user: z.string().optional(), org: z.string().optional() })),
};

const str = { type: "string" };
const int = { type: "integer" };

function operation([method, path, summary, body, query]: Route) {
  const params = [...path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: "path", required: true, schema: m[1] === "id" ? int : str }));
  for (const q of query ?? []) params.push({ name: q, in: "query", required: false, schema: ["user", "org"].includes(q) ? str : int });
  return {
    [method]: {
      summary,
      ...(params.length ? { parameters: params } : {}),
      ...(body ? { requestBody: { required: true, content: { "application/json": { schema: { $ref: `#/components/schemas/${body}` } } } } } : {}),
      responses: {
        200: { description: "OK", content: { [path === "/metrics" ? "text/plain" : "application/json"]: {} } },
        default: { description: "Error", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } },
      },
    },
  };
}

export const adminOpenApi = {
  openapi: "3.1.0",
  info: { title: "relay admin API", version: pkg.version, description: "Served only on the admin Unix socket (mode 0600). Clients: `relay admin` and `relay tui`." },
  paths: routes.reduce<Record<string, object>>((acc, r) => ({ ...acc, [r[1]]: { ...(acc[r[1]] ?? {}), ...operation(r) } }), {}),
  components: { schemas },
};

export const adminOpenApiRoutes = () => new Elysia({ name: "admin-openapi" }).get("/openapi.json", () => adminOpenApi);
